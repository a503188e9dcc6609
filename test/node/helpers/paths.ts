// Where the unit tests find their inputs. Everything they need is in the repository (the golden
// references, the demo tokenizer's files, the bundled Q8_0 model, the benchmark prompts); only the
// large reference models (the HF folder, the F16 GGUF) live outside it, and the tests that need them
// are skipped by name when they are absent, except under CI=true (see referenceModel).
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
export const FIXTURES = resolve(ROOT, 'test/fixtures');
/** The demo model's tokenizer.json, tokenizer_config.json, generation_config.json and config.json. */
export const TOKENIZER_DIR = resolve(FIXTURES, 'clasp-demo-29M-tokenizer');
export const DEMO_Q8 = resolve(ROOT, 'resources/clasp-demo-29M-q8_0.gguf');
export const BENCH_PROMPTS = resolve(ROOT, 'bench/prompts.jsonl');

/** $CLASP_MODELS_DIR, else ../shared/models beside the checkout. */
export const MODELS_DIR = process.env.CLASP_MODELS_DIR ?? resolve(ROOT, '../shared/models');
const CI = process.env.CI === 'true' || process.env.CI === '1';

export interface ReferenceModel {
  path: string;
  /** Absent and not under CI: skip the test (`it.skipIf(ref.skip)`). Under CI a missing model fails. */
  skip: boolean;
}

export function referenceModel(name: string): ReferenceModel {
  const path = resolve(MODELS_DIR, name);
  return { path, skip: !existsSync(path) && !CI };
}

export interface GoldenPrompt {
  text: string;
  prompt_ids: number[];
  greedy_ids: number[];
  greedy_text: string;
}

export function loadGolden(): Record<string, GoldenPrompt> {
  const g = JSON.parse(readFileSync(resolve(FIXTURES, 'golden/golden.json'), 'utf8')) as {
    prompts: Record<string, GoldenPrompt>;
  };
  return g.prompts;
}
