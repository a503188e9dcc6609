import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The renderer's own import alias (vite.renderer.config.ts), so its slices and lib/ test in Node.
  resolve: { alias: { '@shared': resolve(import.meta.dirname, 'src/shared') } },
  test: {
    include: ['test/node/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    testTimeout: 60000,
    // Commands under test keep the CLaSp policy's memory here, never in the user's cache folder.
    env: { CLASP_POLICY_DIR: mkdtempSync(join(tmpdir(), 'clasp-test-policy-')) },
  },
});
