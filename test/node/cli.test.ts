// The `clasp` command as a newcomer meets it: `npm install` builds what it runs, and `clasp generate`
// prints text, never the end tokens (<|eot_id|>, <|end_of_text|>), while --json keeps every id.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { kvFlag } from '../../src/cli/common';
import { generateCommand } from '../../src/cli/generate';
import { DEMO_Q8 } from './helpers/engine';
import { loadGolden } from './helpers/paths';

const ROOT = resolve(__dirname, '../..');

/** Runs `clasp generate ARGS` in-process; returns what it wrote to stdout. */
async function generate(args: string[]): Promise<string> {
  let out = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await generateCommand(['--model', DEMO_Q8, '--threads', '2', ...args])).toBe(0);
  } finally {
    write.mockRestore();
  }
  return out;
}

afterEach(() => vi.restoreAllMocks());

describe('clasp generate', () => {
  const golden = loadGolden();

  it('prints a chat reply without its <|eot_id|>', async () => {
    const g = golden.chat_count!;
    expect(g.greedy_text.endsWith('<|eot_id|>')).toBe(true);
    const out = await generate(['--chat', 'Count from 12 to 30.', '--max-tokens', String(g.greedy_ids.length)]);
    expect(out).toBe(g.greedy_text.replace('<|eot_id|>', '') + '\n');
  });

  it('prints a plain continuation without its <|end_of_text|>', async () => {
    const g = golden.plain_news!;
    expect(g.greedy_text.endsWith('<|end_of_text|>')).toBe(true);
    const out = await generate(['--prompt', g.text, '--max-tokens', String(g.greedy_ids.length)]);
    expect(out).toBe(g.greedy_text.replace('<|end_of_text|>', '') + '\n');
  });

  it('prints no special token even past the end with --ignore-eos', async () => {
    const out = await generate(['--chat', 'What is 417 plus 262?', '--max-tokens', '40', '--ignore-eos']);
    expect(out).not.toMatch(/<\|[a-z_]+\|>/);
    expect(out).toContain('417 + ');
  });

  it('keeps the end token among the ids with --json', async () => {
    const g = golden.chat_add!;
    const out = await generate(['--prompt-ids', g.prompt_ids.join(','), '--max-tokens', '40', '--json']);
    const j = JSON.parse(out) as { ids: number[]; finish_reason: string };
    expect(j.ids).toEqual(g.greedy_ids);
    expect(j.ids[j.ids.length - 1]).toBe(8191);
    expect(j.finish_reason).toBe('stop');
  });

  it('takes --kv f16 (an F16 KV cache) and refuses other values in one line', async () => {
    const out = await generate(['--prompt-ids', golden.chat_add!.prompt_ids.join(','), '--max-tokens', '8', '--json', '--kv', 'f16']);
    expect((JSON.parse(out) as { ids: number[] }).ids).toHaveLength(8);
    expect(kvFlag({ kv: 'f16' })).toBe('f16');
    expect(kvFlag({})).toBeUndefined();
    expect(() => kvFlag({ kv: 'q8' })).toThrow(/^--kv must be f32 or f16 \(got "q8"\)$/);
  });
});

describe('npm install', () => {
  it('builds what bin/clasp.js runs (dist/cli/main.js) in postinstall, so `npx clasp` works at once', () => {
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.bin.clasp).toBe('bin/clasp.js');
    const bin = readFileSync(resolve(ROOT, pkg.bin.clasp), 'utf8');
    expect(bin).toContain("path.join(__dirname, '..', 'dist', 'cli', 'main.js')");
    const tsconfig = JSON.parse(readFileSync(resolve(ROOT, 'tsconfig.node.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(pkg.scripts['build:node']).toBe('tsc -p tsconfig.node.json');
    expect(pkg.scripts.postinstall).toMatch(/npm run build:node/);
    // the UI that `clasp serve` serves, too
    expect(pkg.scripts.postinstall).toMatch(/npm run build:web/);
  });
});
