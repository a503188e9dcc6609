// Shared model/golden locations for unit tests (the repo sits next to ../shared).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

// CLASP_SHARED_DIR overrides it where the checkout lives elsewhere.
export const SHARED = process.env.CLASP_SHARED_DIR ?? resolve(__dirname, '../../../../shared');
export const HF_DIR = resolve(SHARED, 'models/clasp-demo-29M');
export const GGUF_FILES = [
  resolve(SHARED, 'models/clasp-demo-29M.gguf'),
  resolve(SHARED, 'models/clasp-demo-29M-q8_0.gguf'),
];

export interface GoldenPrompt {
  text: string;
  prompt_ids: number[];
  greedy_ids: number[];
  greedy_text: string;
}

export function loadGolden(): Record<string, GoldenPrompt> {
  const g = JSON.parse(readFileSync(resolve(SHARED, 'golden/golden.json'), 'utf8')) as {
    prompts: Record<string, GoldenPrompt>;
  };
  return g.prompts;
}
