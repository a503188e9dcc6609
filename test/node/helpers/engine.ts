// One EngineService per test file on the bundled demo model (loading is cheap: the file is mapped).
import { EngineService } from '../../../src/services/EngineService';
import { DEMO_Q8 } from './paths';

export { DEMO_Q8 };

export function loadDemo(threads = 2): Promise<EngineService> {
  return EngineService.load({ modelPath: DEMO_Q8, backend: 'cpu', threads });
}
