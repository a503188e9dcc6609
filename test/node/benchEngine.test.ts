// `clasp bench-engine --json` on the bundled model alone (no llama.cpp, no 1B files): the contract
// that the benchmark tables and docs/PERF.md are made from.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { benchEngineCommand } from '../../src/cli/benchEngine';
import { DEMO_Q8 } from './helpers/engine';

afterEach(() => vi.restoreAllMocks());

describe('clasp bench-engine', () => {
  it('measures prefill, decode and verify cost, and takes the better of two bandwidth probes', async () => {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const log = vi.spyOn(console, 'log').mockImplementation((s: unknown) => {
      out += String(s) + '\n';
    });
    const args = ['--models', DEMO_Q8, '--no-peer', '--no-1b', '--json', '--threads', '2', '--prompt-len', '8', '--gen', '4'];
    expect(await benchEngineCommand(args)).toBe(0);
    log.mockRestore();
    const r = JSON.parse(out) as {
      read_gb_s: number; read_gb_s_probes: number[];
      rows: {
        model: string; llamacpp?: unknown;
        ours: { prefill_tok_s: number; decode_tok_s: number; verify_steps: Record<string, number>; verify_ms: Record<string, number> };
      }[];
    };
    expect(r.read_gb_s_probes).toHaveLength(2);
    for (const p of r.read_gb_s_probes) expect(p).toBeGreaterThan(0);
    expect(r.read_gb_s).toBe(Math.max(...r.read_gb_s_probes));
    expect(r.rows).toHaveLength(1);
    const row = r.rows[0]!;
    expect(row.model).toBe('clasp-demo-29M-q8_0.gguf');
    expect(row.llamacpp).toBeUndefined();
    expect(row.ours.prefill_tok_s).toBeGreaterThan(0);
    expect(row.ours.decode_tok_s).toBeGreaterThan(0);
    // a pass of k tokens reads every weight, as a decode step does: it cannot cost much less than one
    for (const k of ['4', '8', '12']) expect(row.ours.verify_steps[k]).toBeGreaterThan(0.5);
    // the passes in milliseconds, over the same decode step as the steps (those are rounded to 0.01)
    const step = row.ours.verify_ms['4']! / row.ours.verify_steps['4']!;
    expect(step).toBeGreaterThan(0);
    for (const k of ['8', '12']) expect(row.ours.verify_ms[k]! / row.ours.verify_steps[k]! / step).toBeCloseTo(1, 1);
  }, 120_000);
});
