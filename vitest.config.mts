import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The renderer's own import alias (vite.renderer.config.ts), so its slices and lib/ test in Node.
  resolve: { alias: { '@shared': resolve(import.meta.dirname, 'src/shared') } },
  test: {
    include: ['test/node/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    testTimeout: 60000,
  },
});
