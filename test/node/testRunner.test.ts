// `npm test`'s summary (scripts/test.js): skipped tests are counted and named on the summary line,
// after the "N passed, N failed" that tools read, so a skip is never mistaken for a pass.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// Loaded through Node's own CommonJS loader, as `npm test` runs it (its main() runs only as a script).
const runner = createRequire(__filename)('../../scripts/test.js') as {
  parseNativeSummary(stdout: string): { passed: number; failed: number; skipped: string[] } | null;
  vitestSkips(report: unknown): { ui: number; names: string[] };
  summaryLine(t: { passed: number; failed: number; skippedNames: string[]; skippedUi: number }): string;
};
const ROOT = resolve(__dirname, '../..');

describe('npm test summary', () => {
  it('reads the native suite line with and without skipped tests', () => {
    expect(runner.parseNativeSummary('ok   a (1 ms)\nnative: 7 passed, 1 failed\n')).toEqual({ passed: 7, failed: 1, skipped: [] });
    expect(runner.parseNativeSummary('native: 50 passed, 0 failed, 2 skipped (golden_hf_cpu, golden_gguf_f16_cpu)\n')).toEqual({
      passed: 50,
      failed: 0,
      skipped: ['golden_hf_cpu', 'golden_gguf_f16_cpu'],
    });
    expect(runner.parseNativeSummary('Segmentation fault')).toBeNull();
  });

  it("sorts vitest's skipped tests into the UI suite and named ones", () => {
    const test = (fullName: string, status: string) => ({ fullName, status });
    const report = {
      testResults: [
        { name: resolve(ROOT, 'test/node/tokenizer.test.ts'), assertionResults: [test('tok a', 'passed'), test('tok F16', 'skipped')] },
        { name: resolve(ROOT, 'test/e2e/app.e2e.test.ts'), assertionResults: [test('ui 1', 'skipped'), test('ui 2', 'pending')] },
      ],
    };
    expect(runner.vitestSkips(report)).toEqual({ ui: 2, names: ['tok F16'] });
  });

  it('keeps "total: N passed, N failed" and appends the skipped names and the hints', () => {
    expect(runner.summaryLine({ passed: 9, failed: 0, skippedNames: [], skippedUi: 0 })).toBe('total: 9 passed, 0 failed');
    const line = runner.summaryLine({ passed: 9, failed: 1, skippedNames: ['golden_hf_cpu', 'tok F16'], skippedUi: 21 });
    expect(line).toMatch(/^total: 9 passed, 1 failed, 23 skipped \(/);
    expect(line).toContain('golden_hf_cpu, tok F16: no reference models, set CLASP_MODELS_DIR');
    expect(line).toContain('the UI suite (21 tests): no Chromium, apt-get install chromium');
  });
});
