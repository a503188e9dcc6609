import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { Tokenizer } from '../../src/services/text/tokenizer';
import { readGgufMetadata } from './helpers/ggufMeta';
import { DEMO_Q8, loadGolden, referenceModel, TOKENIZER_DIR } from './helpers/paths';

const golden = loadGolden();
const sources: [string, () => Tokenizer][] = [
  ['hf', () => Tokenizer.fromHfDir(TOKENIZER_DIR)],
  ['clasp-demo-29M-q8_0.gguf', () => Tokenizer.fromGgufMetadata(readGgufMetadata(DEMO_Q8))],
];

// Text that exercises the pre-tokenizer regex: contractions, digits, punctuation runs, newlines,
// runs of spaces, non-Latin scripts and emoji.
const MIXED = [
  "I'm sure they'll say it's 12345 o'clock; isn't it?? DON'T!",
  'Tabs\tand  double  spaces   and trailing   \n\n\nnew lines\r\n  indented',
  'héllo 世界 🎉 — naïve café, Ünïcödé, Ελληνικά, русский, עברית, 日本語のテキスト',
  '   leading spaces, x=3.14159*2e-5; f(a,b)=>{return a+b}',
  '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|> not <|special|>',
];

describe.each(sources)('Tokenizer (%s)', (_name, load) => {
  const tok = load();

  it('encodes every golden prompt to the golden ids', () => {
    for (const [id, p] of Object.entries(golden)) {
      expect(tok.encode(p.text), id).toEqual(p.prompt_ids);
    }
  });

  it('decodes every golden continuation, end token included, to the golden text', () => {
    for (const [id, p] of Object.entries(golden)) {
      expect(tok.decode(p.greedy_ids), id).toBe(p.greedy_text);
    }
  });

  it('adds BOS once: not again when the text starts with it, not at all when asked', () => {
    const plain = tok.encode('Hello there');
    expect(plain[0]).toBe(tok.bosId);
    expect(tok.encode('<|begin_of_text|>Hello there')).toEqual(plain);
    expect(tok.encode('Hello there', { addBos: false })).toEqual(plain.slice(1));
    expect(tok.encode('')).toEqual([tok.bosId]);
    expect(tok.encode('', { addBos: false })).toEqual([]);
  });

  it('parses special tokens written in the text', () => {
    const ids = tok.encode('a<|eot_id|>b', { addBos: false });
    expect(ids).toContain(8191);
    expect(tok.decode(ids)).toBe('a<|eot_id|>b');
    expect(tok.decode(ids, { skipSpecial: true })).toBe('ab');
  });

  it('round-trips mixed text', () => {
    for (const text of MIXED) expect(tok.decode(tok.encode(text, { addBos: false }))).toBe(text);
  });

  it('streams multi-byte characters whole', () => {
    for (const text of ['héllo 世界 🎉', ...MIXED]) {
      const ids = tok.encode(text);
      const d = tok.createStreamDecoder();
      const chunks = ids.map((id) => d.push(id));
      chunks.push(d.flush());
      expect(chunks.join('')).toBe(tok.decode(ids));
      for (const c of chunks) expect(c).not.toContain('\uFFFD');
    }
    // the emoji is split over several byte tokens, so some pushes must have emitted nothing
    const ids = tok.encode('🎉', { addBos: false });
    expect(ids.length).toBeGreaterThan(1);
    const d = tok.createStreamDecoder();
    expect(ids.slice(0, -1).map((id) => d.push(id)).join('')).toBe('');
    expect(d.push(ids[ids.length - 1]!)).toBe('🎉');
  });

  it('renders an incomplete character as U+FFFD only at the end', () => {
    const ids = tok.encode('🎉', { addBos: false });
    const d = tok.createStreamDecoder();
    expect(d.push(ids[0]!)).toBe('');
    expect(d.flush()).toBe('\uFFFD');
    expect(tok.decode(ids.slice(0, 1))).toBe('\uFFFD');
  });

  it('knows its special ids', () => {
    expect(tok.eosIds.slice().sort()).toEqual([8183, 8191]);
    expect(tok.bosId).toBe(8182);
    expect(tok.vocabSize).toBe(8192);
    expect(tok.bosToken).toBe('<|begin_of_text|>');
    expect(tok.tokenToString(8191)).toBe('<|eot_id|>');
    expect(tok.tokenToString(263)).toMatch(/^Ġ/);
    expect(tok.isSpecial(8191)).toBe(true);
    expect(tok.isSpecial(263)).toBe(false);
    expect(tok.chatTemplate).toContain('<|start_header_id|>');
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => tok.decode([8192])).toThrow(/outside the vocabulary/);
    expect(() => tok.decode([-1])).toThrow(/outside the vocabulary/);
    expect(() => tok.tokenToString(1.5)).toThrow(/outside the vocabulary/);
  });
});

describe('GGUF and HF agree', () => {
  const hf = Tokenizer.fromHfDir(TOKENIZER_DIR);
  const gguf = Tokenizer.fromGgufMetadata(readGgufMetadata(DEMO_Q8));

  it('encode the same ids, and decode like the library', () => {
    // the demo's own training-like text: the golden prompts and continuations, plus mixed text
    const texts = [...MIXED, ...Object.values(golden).flatMap((p) => [p.text, p.greedy_text])];
    const lib = new HfTokenizer(
      JSON.parse(readFileSync(join(TOKENIZER_DIR, 'tokenizer.json'), 'utf8')),
      { clean_up_tokenization_spaces: false },
    );
    for (const t of texts) {
      const ids = hf.encode(t);
      expect(gguf.encode(t)).toEqual(ids);
      expect(hf.decode(ids)).toBe(lib.decode(ids));
      expect(hf.decode(ids, { skipSpecial: true })).toBe(lib.decode(ids, { skip_special_tokens: true }));
    }
  });

  it('has the same vocabulary', () => {
    expect(gguf.vocabSize).toBe(hf.vocabSize);
    for (let i = 0; i < hf.vocabSize; i++) expect(gguf.tokenToString(i)).toBe(hf.tokenToString(i));
  });
});

// The tokenizer files in test/fixtures are copies; these check them against the reference models.
describe('reference model', () => {
  const hfDir = referenceModel('clasp-demo-29M');
  const f16 = referenceModel('clasp-demo-29M.gguf');
  const bundled = Tokenizer.fromGgufMetadata(readGgufMetadata(DEMO_Q8));
  const same = (tok: Tokenizer) => {
    expect(tok.vocabSize).toBe(bundled.vocabSize);
    for (let i = 0; i < tok.vocabSize; i++) expect(tok.tokenToString(i)).toBe(bundled.tokenToString(i));
    expect(tok.chatTemplate).toBe(bundled.chatTemplate);
    for (const p of Object.values(golden)) expect(tok.encode(p.text)).toEqual(p.prompt_ids);
  };

  it.skipIf(hfDir.skip)('clasp-demo-29M (HF folder) has the bundled tokenizer', () => same(Tokenizer.fromHfDir(hfDir.path)));
  it.skipIf(f16.skip)('clasp-demo-29M.gguf (F16) has the bundled tokenizer', () => same(Tokenizer.fromGgufMetadata(readGgufMetadata(f16.path))));
});

describe('bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clasp-tok-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the file that holds invalid JSON', () => {
    const file = join(dir, 'tokenizer.json');
    writeFileSync(file, '{"model": {"type": "BPE",');
    expect(() => Tokenizer.fromHfDir(dir)).toThrow(`Invalid JSON in ${file}`);
  });

  it('says when tokenizer.json is missing', () => {
    expect(() => Tokenizer.fromHfDir(join(dir, 'nope'))).toThrow(/No tokenizer\.json in .*nope/);
  });

  it('rejects GGUF tokenizers it cannot reproduce', () => {
    const meta = readGgufMetadata(DEMO_Q8);
    expect(() => Tokenizer.fromGgufMetadata({ ...meta, 'tokenizer.ggml.model': 'llama' })).toThrow(/only "gpt2"/);
    expect(() => Tokenizer.fromGgufMetadata({ ...meta, 'tokenizer.ggml.pre': 'qwen2' })).toThrow(/pre-tokenizer/);
    const { ['tokenizer.ggml.tokens']: _, ...noTokens } = meta;
    expect(() => Tokenizer.fromGgufMetadata(noTokens)).toThrow(/tokenizer\.ggml\.tokens/);
  });

  it('rejects non-string text', () => {
    const tok = Tokenizer.fromHfDir(TOKENIZER_DIR);
    expect(() => tok.encode(42 as unknown as string)).toThrow(TypeError);
  });
});
