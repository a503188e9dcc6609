// One EngineService per test file on the bundled demo model (loading is cheap: the file is mapped).
import { EngineService } from '../../../src/services/EngineService';

export const DEMO_Q8 = `${__dirname}/../../../resources/clasp-demo-29M-q8_0.gguf`;

export function loadDemo(threads = 2): Promise<EngineService> {
  return EngineService.load({ modelPath: DEMO_Q8, backend: 'cpu', threads });
}
