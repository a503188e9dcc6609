// What the app can ask of the CLaSp policy itself (the per-reply "try it anyway" is a flag on
// chat:regenerate): forgetting what it learned on the loaded model and this machine.
import type { ResponseOf } from '../shared/api';
import type { EngineService } from '../services/EngineService';

/**
 * Forgets every mode's acceptance counts and the cost table (measured again at the next speculative
 * reply, so a table measured while the machine was busy goes too), and the kept file. Waits for a
 * running reply, whose end would write the memory back.
 */
export async function forgetPolicy(engine: EngineService | null, log: (m: string) => void): Promise<ResponseOf<'policy:forget'>> {
  if (!engine) return { forgotten: false, model: null };
  await engine.forget();
  log(`forgot what the CLaSp policy learned on ${engine.info.name}`);
  return { forgotten: true, model: engine.info.name };
}
