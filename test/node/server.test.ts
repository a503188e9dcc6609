// `clasp serve`'s OpenAI-compatible API, driven by the official `openai` client against a real
// server on a free loopback port with the bundled demo model.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineService } from '../../src/services/EngineService';
import { bundledModelPath } from '../../src/services/modelPaths';
import { startServer, postJson, raw, type TestServer } from './server.harness';
import { validateSettings } from '../../src/services/settings';

let ts: TestServer;
let engine: EngineService;
// --models-dir: a copy of the demo model under another name, to switch models per request
const modelsDir = mkdtempSync(join(tmpdir(), 'clasp-models-'));
copyFileSync(bundledModelPath(), join(modelsDir, 'demo-copy.gguf'));

beforeAll(async () => {
  // a 256-token context keeps the context-end test's prefill short
  ts = await startServer({ modelsDir, nCtx: 256 });
  engine = ts.models.current!;
});

afterAll(async () => {
  await ts?.close();
  ts?.models.dispose();
  rmSync(modelsDir, { recursive: true, force: true });
});

const COUNT = [{ role: 'user' as const, content: 'Count from 1 to 10.' }];

/** What plain greedy decoding (mode ar) gives for the same prompt: the reference output. */
async function arReference(ids: number[], maxTokens: number): Promise<{ text: string; n: number }> {
  const r = await engine.generate(ids, validateSettings({ mode: 'ar', temperature: 0, maxTokens }));
  return { text: engine.tokenizer.decode(r.ids, { skipSpecial: true }), n: r.ids.length };
}

/**
 * The stats of a clasp-mode run. With skip "auto" the adaptive policy may have switched speculation
 * off (fallback) and run no verify round at all; otherwise every round yields at least one token.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function expectSaneStats(s: any): void {
  expect(s.mode).toBe('clasp');
  expect(s.rounds).toBeGreaterThanOrEqual(0);
  if (s.rounds > 0) {
    expect(s.mean_accepted_length).toBeGreaterThanOrEqual(1);
    expect(s.mean_accepted_length).toBeLessThanOrEqual(13); // max_draft 12, plus the bonus token
    expect(s.acceptance_rate).toBeGreaterThanOrEqual(0);
    expect(s.acceptance_rate).toBeLessThanOrEqual(1);
  } else {
    expect(s.fallback).toBe(true);
  }
  expect(s.tokens_per_s).toBeGreaterThan(0);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const claspOf = (x: unknown): any => (x as { clasp: unknown }).clasp;

describe('GET /v1/models', () => {
  it('lists the loaded model and --models-dir, and retrieves one by id', async () => {
    const page = await ts.client.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toContain('clasp-demo-29M-q8_0');
    expect(ids).toContain('demo-copy');
    const m = await ts.client.models.retrieve('clasp-demo-29M-q8_0');
    expect(m).toMatchObject({ id: 'clasp-demo-29M-q8_0', object: 'model', owned_by: 'clasp' });
  });
});

describe('POST /v1/chat/completions', () => {
  it('greedy output equals ar decoding, with correct usage and clasp stats', async () => {
    const c = await ts.client.chat.completions.create({ model: 'clasp-demo-29M-q8_0', messages: COUNT, temperature: 0, max_tokens: 40 });
    const ids = engine.encode({ messages: COUNT });
    const ref = await arReference(ids, 40);
    expect(c.object).toBe('chat.completion');
    expect(c.model).toBe('clasp-demo-29M-q8_0');
    expect(c.choices).toHaveLength(1);
    expect(c.choices[0]!.message.role).toBe('assistant');
    expect(c.choices[0]!.message.content).toBe(ref.text);
    expect(ref.text).toContain('1, 2, 3');
    expect(c.choices[0]!.finish_reason).toBe('stop');
    expect(c.usage).toEqual({ prompt_tokens: ids.length, completion_tokens: ref.n, total_tokens: ids.length + ref.n });
    const cl = claspOf(c);
    expect(cl.stats.mode).toBe('clasp');
    expect(cl.stats.n_prompt).toBe(ids.length);
    expect(cl.stats.n_generated).toBe(ref.n);
    expectSaneStats(cl.stats);
    expect(cl.settings).toMatchObject({ mode: 'clasp', skip: 'auto', temperature: 0 });
    expect(cl.rounds).toBeUndefined();
  });

  it('streams the same text, with a role chunk, a finish chunk and a usage chunk', async () => {
    const stream = await ts.client.chat.completions.create({
      messages: COUNT, temperature: 0, max_tokens: 40, stream: true, stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const ch of stream) chunks.push(ch);
    const ids = engine.encode({ messages: COUNT });
    const ref = await arReference(ids, 40);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const text = chunks.map((ch) => ch.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(ref.text);
    const fin = chunks.filter((ch) => ch.choices[0]?.finish_reason);
    expect(fin).toHaveLength(1);
    expect(fin[0]!.choices[0]!.finish_reason).toBe('stop');
    expectSaneStats(claspOf(fin[0]).stats);
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: ids.length, completion_tokens: ref.n, total_tokens: ids.length + ref.n });
    expect(new Set(chunks.map((ch) => ch.id)).size).toBe(1);
  });

  it('honours stop strings (trimmed, finish_reason stop), streaming and not', async () => {
    const c = await ts.client.chat.completions.create({ messages: COUNT, temperature: 0, max_tokens: 40, stop: [', 4', 'never'] });
    expect(c.choices[0]!.message.content).toBe('1, 2, 3');
    expect(c.choices[0]!.finish_reason).toBe('stop');
    expect(c.usage!.completion_tokens).toBeLessThan(12);
    const stream = await ts.client.chat.completions.create({ messages: COUNT, temperature: 0, max_tokens: 40, stop: ', 4', stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const ch of stream) {
      text += ch.choices[0]?.delta.content ?? '';
      finish = ch.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe('1, 2, 3');
    expect(finish).toBe('stop');
  });

  it('finish_reason is length when max_tokens runs out', async () => {
    const c = await ts.client.chat.completions.create({ messages: COUNT, temperature: 0, max_completion_tokens: 3 });
    expect(c.choices[0]!.finish_reason).toBe('length');
    expect(c.usage!.completion_tokens).toBe(3);
  });

  it('a seed makes sampling reproducible; other seeds give other text', async () => {
    // With the same plan (here an explicit M; under "auto" the plan follows the cost table and the
    // acceptance counted so far, never the clock) the same seed gives the same text.
    const ask = (seed: number) =>
      ts.client.chat.completions
        // @ts-expect-error: the clasp extension is not in the OpenAI types
        .create({ messages: [{ role: 'user', content: 'Write a short story about a fox.' }], temperature: 0.8, seed, max_tokens: 16, clasp: { skip: 10 } })
        .then((c) => ({ content: c.choices[0]!.message.content, settings: claspOf(c).settings }));
    const a = await ask(7);
    const b = await ask(7);
    expect(b.content).toBe(a.content);
    expect(a.settings).toMatchObject({ seed: 7, temperature: 0.8, skip: 10 }); // no special case for seeded requests
    const others = [await ask(8), await ask(9), await ask(10)];
    expect(others.some((t) => t.content !== a.content)).toBe(true);
  });

  it('takes request-level CLaSp settings and returns the round trace on request', async () => {
    const c = await ts.client.chat.completions.create({
      messages: COUNT, temperature: 0, max_tokens: 16,
      // @ts-expect-error: the clasp extension is not in the OpenAI types
      clasp: { mode: 'clasp', skip: 8, det: 0.5, max_draft: 6, loi: 2, trace: true },
    });
    const cl = claspOf(c);
    expect(cl.settings).toMatchObject({ mode: 'clasp', skip: 8, det: 0.5, max_draft: 6, loi: 2 });
    expect(Array.isArray(cl.rounds)).toBe(true);
    expect(cl.rounds.length).toBe(cl.stats.rounds);
    expect(cl.rounds[0].skip).toHaveLength(8);
    expect(cl.rounds[0].draft.ids.length).toBeLessThanOrEqual(6);
    // a fixed M: the policy never switches speculation off, so there are verify rounds
    expect(cl.stats.rounds).toBeGreaterThan(0);
    expect(cl.stats.mean_accepted_length).toBeGreaterThanOrEqual(1);
    const ar = await ts.client.chat.completions.create({
      messages: COUNT, temperature: 0, max_tokens: 16,
      // @ts-expect-error: the clasp extension
      clasp: { mode: 'ar' },
    });
    expect(ar.choices[0]!.message.content).toBe(c.choices[0]!.message.content);
    expect(claspOf(ar).stats.mode).toBe('ar');
    expect(claspOf(ar).stats.mean_accepted_length).toBeNull();
  });

  it('clasp.try_anyway speculates whatever the policy predicts; the stats say which plans ran on which tokens', async () => {
    const ask = (extra: object) => ts.client.chat.completions.create({ messages: COUNT, max_tokens: 4, temperature: 0, clasp: extra } as never);
    // Four tokens cannot pay for the DP a speculative reply starts with: the policy decodes plainly.
    const plain = claspOf(await ask({})).stats;
    const forcedReply = await ask({ try_anyway: true });
    const forced = claspOf(forcedReply).stats;
    expect(forced.rounds).toBeGreaterThan(0);
    expect(forced.stretches[0].speculate).toBe(true);
    for (const s of [plain, forced]) {
      expect(s.stretches.reduce((n: number, x: { n: number }) => n + x.n, 0)).toBe(s.n_generated);
      expect(s.draft_ms + s.verify_ms + s.dp_ms + s.plain_ms).toBeLessThanOrEqual(s.decode_ms + 1e-6);
    }
    if (!plain.stretches[0].speculate) {
      expect(plain.rounds).toBe(0);
      expect(forced.stretches[0].forced).toBe(true);
      expect(forced.stretches[0].reason).toMatch(/^speculating because asked to \(try it anyway\); the policy would have said: plain decoding/);
    }
    const ids = engine.encodeChat(COUNT);
    expect((forcedReply as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe((await arReference(ids, 4)).text);
    await expect(ask({ try_anyway: 'yes' })).rejects.toThrow(/try_anyway/);
  });

  it('takes text content parts and the developer role', async () => {
    const c = await ts.client.chat.completions.create({
      messages: [
        { role: 'developer', content: 'You are terse.' },
        { role: 'user', content: [{ type: 'text', text: 'Count from 1 ' }, { type: 'text', text: 'to 10.' }] },
      ],
      temperature: 0, max_tokens: 8,
    });
    const ids = engine.encode({ messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Count from 1 to 10.' }] });
    expect(c.usage!.prompt_tokens).toBe(ids.length);
    expect(c.choices[0]!.message.content).toBe((await arReference(ids, 8)).text);
  });

  it('8 parallel greedy requests all complete, each as if run alone', async () => {
    const prompts = ['Count from 1 to 10.', 'Spell the word cat.', 'What is 2 plus 3?', 'Repeat: the sky is blue.',
      'Write a poem about rain.', 'Quote a famous line.', 'Continue: once upon a time', 'Count from 5 to 9.'];
    const ask = (p: string) =>
      ts.client.chat.completions.create({ messages: [{ role: 'user', content: p }], temperature: 0, max_tokens: 10 }).then((c) => c.choices[0]!.message.content);
    const alone: (string | null)[] = [];
    for (const p of prompts) alone.push(await ask(p));
    const together = await Promise.all(prompts.map(ask));
    expect(together).toEqual(alone);
    expect(ts.api.queueStats).toEqual({ running: 0, waiting: 0 });
  });
});

describe('POST /v1/completions', () => {
  const PROMPT = 'Once upon a time';

  it('greedy text equals ar decoding; streaming gives the same', async () => {
    const c = await ts.client.completions.create({ model: 'clasp-demo-29M-q8_0', prompt: PROMPT, temperature: 0, max_tokens: 12 });
    const ids = engine.encode({ prompt: PROMPT });
    const ref = await arReference(ids, 12);
    expect(c.object).toBe('text_completion');
    expect(c.choices[0]!.text).toBe(ref.text);
    expect(c.choices[0]!.finish_reason).toBe(ref.n === 12 ? 'length' : 'stop');
    expect(c.usage).toEqual({ prompt_tokens: ids.length, completion_tokens: ref.n, total_tokens: ids.length + ref.n });
    expectSaneStats(claspOf(c).stats);

    const stream = await ts.client.completions.create({ prompt: PROMPT, temperature: 0, max_tokens: 12, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage = null;
    for await (const ch of stream) {
      text += ch.choices[0]?.text ?? '';
      if (ch.usage) usage = ch.usage;
    }
    expect(text).toBe(ref.text);
    expect(usage).toEqual(c.usage);
  });

  it('defaults max_tokens to 16 as OpenAI does, and takes token-id prompts', async () => {
    const ids = engine.encode({ prompt: PROMPT });
    const c = await ts.client.completions.create({ prompt: ids, temperature: 0, clasp: { ignore_eos: true } } as never);
    expect(c.usage!.completion_tokens).toBe(16);
    expect(c.usage!.prompt_tokens).toBe(ids.length);
  });

  it('stops with finish_reason length at the end of the context; refuses a prompt longer than it', async () => {
    const nCtx = engine.info.nCtx;
    const ids = [engine.info.bosId, ...Array.from({ length: nCtx - 4 }, (_, i) => 300 + (i % 500))];
    const c = await ts.client.completions.create({ prompt: ids, temperature: 0, max_tokens: 50, clasp: { ignore_eos: true, mode: 'ar' } } as never);
    expect(c.choices[0]!.finish_reason).toBe('length');
    expect(c.usage!.completion_tokens).toBeLessThanOrEqual(4);
    const tooLong = [engine.info.bosId, ...Array.from({ length: nCtx }, () => 300)];
    const r = await postJson(ts.port, '/v1/completions', { prompt: tooLong, max_tokens: 4 });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('context_length_exceeded');
  });
});

describe('health and CLI-facing basics', () => {
  it('/health reports the model and an idle engine', async () => {
    const r = await raw(ts.port, { path: '/health' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: 'ok', model: 'clasp-demo-29M', busy: false });
  });
});

describe('switching models per request (last: it replaces the loaded engine)', () => {
  it('a request naming a model in --models-dir loads it; naming the first switches back', async () => {
    const ask = (model: string) =>
      // mode ar: a fresh engine measures its step costs on its first speculative run; not needed here
      ts.client.chat.completions.create({ model, messages: COUNT, temperature: 0, max_tokens: 6, clasp: { mode: 'ar' } } as never) as unknown as Promise<{ model: string; choices: { message: { content: string } }[] }>;
    const before = await ask('clasp-demo-29M-q8_0');
    const other = await ask('demo-copy');
    expect(other.model).toBe('demo-copy');
    expect(ts.models.current!.info.path).toBe(join(modelsDir, 'demo-copy.gguf'));
    expect(other.choices[0]!.message.content).toBe(before.choices[0]!.message.content);
    const back = await ask('clasp-demo-29M-q8_0.gguf');
    expect(back.model).toBe('clasp-demo-29M-q8_0');
    expect(ts.models.current!.info.path).toBe(bundledModelPath());
    engine = ts.models.current!;
  });
});
