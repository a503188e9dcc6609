// OpenAI's `logprobs` / `top_logprobs` through `clasp serve`, driven by the official `openai` client
// with the bundled demo model: the chat shape (whole and streamed), the legacy completions shape,
// the figures' consistency (≤ 0, sorted, mass ≤ 1, greedy picks the top-1, the same under CLaSp
// drafting as under plain decoding), and the refusals of bad values.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletionTokenLogprob } from 'openai/resources/chat/completions';
import { completionLogprobs, logprobEntry } from '../../src/server/openaiLogprobs';
import { expectOpenAiError, postJson, startServer, type TestServer } from './server.harness';

let ts: TestServer;
let half: number; // an explicit skip count, so that CLaSp really drafts on any machine

beforeAll(async () => {
  ts = await startServer({ nCtx: 256 });
  half = Math.floor(ts.models.current!.info.nLayer / 2);
});

afterAll(async () => {
  await ts?.close();
  ts?.models.dispose();
});

const COUNT = [{ role: 'user' as const, content: 'Count from 1 to 10.' }];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const claspOf = (x: unknown): any => (x as { clasp: unknown }).clasp;

/** What every token's figures must satisfy; `greedy`: the chosen token is the top-1. */
function checkTokens(content: ChatCompletionTokenLogprob[], nTop: number, greedy: boolean): void {
  expect(content.length).toBeGreaterThan(0);
  for (const t of content) {
    expect(t.logprob).toBeLessThanOrEqual(0);
    if (!t.token.includes('\uFFFD')) expect(t.bytes).toEqual([...Buffer.from(t.token, 'utf8')]); // else part of a character: raw bytes
    expect(t.top_logprobs).toHaveLength(nTop);
    let mass = 0;
    t.top_logprobs.forEach((a, i) => {
      expect(a.logprob).toBeLessThanOrEqual(0);
      if (i > 0) expect(a.logprob).toBeLessThanOrEqual(t.top_logprobs[i - 1]!.logprob);
      mass += Math.exp(a.logprob);
    });
    expect(mass).toBeLessThanOrEqual(1 + 1e-6);
    const same = t.top_logprobs.find((a) => a.token === t.token);
    if (same) expect(same.logprob).toBeCloseTo(t.logprob, 6);
    else if (nTop > 0) expect(t.logprob).toBeLessThanOrEqual(t.top_logprobs[nTop - 1]!.logprob);
    if (greedy && nTop > 0) {
      expect(t.top_logprobs[0]!.token).toBe(t.token);
      expect(t.top_logprobs[0]!.logprob).toBe(t.logprob);
    }
  }
}

describe('chat: logprobs and top_logprobs', () => {
  it('a greedy reply lists each token, with the same figures under CLaSp drafting as under plain decoding', async () => {
    const ask = (mode: 'ar' | 'clasp') => {
      const clasp = { mode, ...(mode === 'clasp' ? { skip: half, loi: 1 } : {}) };
      const body = { messages: COUNT, temperature: 0, max_tokens: 24, logprobs: true, top_logprobs: 3, clasp };
      return ts.client.chat.completions.create(body);
    };
    const c = await ask('clasp');
    const ch = c.choices[0]!;
    const content = ch.logprobs!.content!;
    checkTokens(content, 3, true);
    // the tokens' bytes are exactly the reply's text; the end token (special, not in the text) is left out
    expect(Buffer.concat(content.map((t) => Buffer.from(t.bytes!))).toString('utf8')).toBe(ch.message.content);
    expect(content.length).toBe(c.usage!.completion_tokens - (ch.finish_reason === 'stop' ? 1 : 0));
    const st = claspOf(c).stats;
    expect(st.rounds).toBeGreaterThan(0);
    expect(st.accepted).toBeGreaterThan(0); // drafted tokens were accepted: their figures came from the verify pass
    const a = await ask('ar');
    const plain = a.choices[0]!.logprobs!.content!;
    expect(plain.map((t) => t.token)).toEqual(content.map((t) => t.token));
    plain.forEach((t, i) => {
      expect(content[i]!.logprob).toBeCloseTo(t.logprob, 5);
      expect(content[i]!.top_logprobs.map((x) => x.token)).toEqual(t.top_logprobs.map((x) => x.token));
    });
  });

  it('streams the same entries, each with the chunk that carries its text', async () => {
    const body = { messages: COUNT, temperature: 0, max_tokens: 24, logprobs: true, top_logprobs: 3, clasp: { skip: half, loi: 1 } };
    const whole = (await ts.client.chat.completions.create(body)).choices[0]!.logprobs!.content!;
    const stream = await ts.client.chat.completions.create({ ...body, stream: true });
    const got: ChatCompletionTokenLogprob[] = [];
    let text = '';
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (!c) continue;
      const entries = c.logprobs?.content ?? [];
      const piece = c.delta.content ?? '';
      if (piece) expect(entries.map((t) => t.token).join('')).toBe(piece); // no stop strings: one token per piece
      else expect(entries).toEqual([]);
      got.push(...entries);
      text += piece;
    }
    expect(got.map((t) => t.token)).toEqual(whole.map((t) => t.token));
    got.forEach((t, i) => expect(t.logprob).toBeCloseTo(whole[i]!.logprob, 5));
    expect(got.map((t) => t.token).join('')).toBe(text);
  });

  it('a stop string: the tokens up to the one that completed it, the cut ones on the last chunk', async () => {
    const stream = await ts.client.chat.completions.create({
      messages: COUNT, temperature: 0, max_tokens: 40, stop: ', 4', logprobs: true, stream: true, stream_options: { include_usage: true },
    });
    const got: ChatCompletionTokenLogprob[] = [];
    let text = '';
    let usage = 0;
    for await (const chunk of stream) {
      got.push(...(chunk.choices[0]?.logprobs?.content ?? []));
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage?.completion_tokens ?? usage;
    }
    expect(text).toBe('1, 2, 3');
    expect(got).toHaveLength(usage);
    expect(got.map((t) => t.token).join('').startsWith('1, 2, 3, 4')).toBe(true);
    checkTokens(got, 0, true);
  });

  it('sampled tokens are consistent with their alternatives; top_logprobs 0 lists none; without logprobs, null', async () => {
    const s = await ts.client.chat.completions.create({ messages: COUNT, temperature: 1.2, seed: 5, max_tokens: 24, logprobs: true, top_logprobs: 5 });
    checkTokens(s.choices[0]!.logprobs!.content!, 5, false);
    const z = await ts.client.chat.completions.create({ messages: COUNT, temperature: 0, max_tokens: 4, logprobs: true, top_logprobs: 0 });
    checkTokens(z.choices[0]!.logprobs!.content!, 0, true);
    const off = await ts.client.chat.completions.create({ messages: COUNT, temperature: 0, max_tokens: 4, top_logprobs: 0 });
    expect(off.choices[0]!.logprobs).toBeNull();
  });
});

describe('completions: logprobs (the legacy shape)', () => {
  it('tokens, token_logprobs, top_logprobs (the alternatives and the chosen token) and text_offset, whole and streamed', async () => {
    const body = { prompt: 'Once upon a time', temperature: 0, max_tokens: 12, logprobs: 2, clasp: { skip: half } };
    const c = await ts.client.completions.create(body);
    const ch = c.choices[0]!;
    const lp = ch.logprobs!;
    const n = lp.tokens!.length;
    expect(n).toBe(c.usage!.completion_tokens - (ch.finish_reason === 'stop' ? 1 : 0)); // an end token is left out
    expect(lp.tokens!.join('')).toBe(ch.text);
    expect(lp.token_logprobs).toHaveLength(n);
    expect(lp.top_logprobs).toHaveLength(n);
    let at = 0;
    lp.tokens!.forEach((tok, i) => {
      expect(lp.text_offset![i]).toBe(at);
      at += [...tok].length;
      const chosen = lp.token_logprobs![i]!;
      expect(chosen).toBeLessThanOrEqual(0);
      const tops = lp.top_logprobs![i]!;
      const values = Object.values(tops);
      expect(values.length).toBeGreaterThanOrEqual(2); // two alternatives (the chosen token is the first, or a third key)
      expect(values.length).toBeLessThanOrEqual(3);
      expect(tops[tok]).toBe(chosen);
      expect(Math.max(...values)).toBe(chosen); // greedy
      expect(values.reduce((m, v) => m + Math.exp(v), 0)).toBeLessThanOrEqual(1 + 1e-6);
    });
    const stream = await ts.client.completions.create({ ...body, stream: true });
    const tokens: string[] = [];
    const offsets: number[] = [];
    for await (const chunk of stream) {
      const l = chunk.choices[0]?.logprobs;
      if (!l) continue;
      tokens.push(...l.tokens!);
      offsets.push(...l.text_offset!);
      expect(l.tokens!.join('')).toBe(chunk.choices[0]!.text);
    }
    expect(tokens).toEqual(lp.tokens);
    expect(offsets).toEqual(lp.text_offset);
  });

  it('logprobs 0 gives the chosen token alone in top_logprobs', async () => {
    const c = await ts.client.completions.create({ prompt: 'Once upon a time', temperature: 0, max_tokens: 3, logprobs: 0 });
    const lp = c.choices[0]!.logprobs!;
    lp.top_logprobs!.forEach((tops, i) => expect(tops).toEqual({ [lp.tokens![i]!]: lp.token_logprobs![i] }));
  });
});

describe('refusals', () => {
  const MSG = [{ role: 'user', content: 'hi' }];
  const refused = async (path: string, body: Record<string, unknown>, param: string, code: string) => {
    const r = await postJson(ts.port, path, { max_tokens: 1, ...body });
    expectOpenAiError(r, 400, code);
    expect(r.json.error.param).toBe(param);
  };

  it('names the field for top_logprobs without logprobs, out of range, or not an integer', async () => {
    await refused('/v1/chat/completions', { messages: MSG, top_logprobs: 3 }, 'top_logprobs', 'invalid_value');
    await refused('/v1/chat/completions', { messages: MSG, logprobs: false, top_logprobs: 1 }, 'top_logprobs', 'invalid_value');
    await refused('/v1/chat/completions', { messages: MSG, logprobs: true, top_logprobs: 21 }, 'top_logprobs', 'invalid_value');
    await refused('/v1/chat/completions', { messages: MSG, logprobs: true, top_logprobs: -1 }, 'top_logprobs', 'invalid_value');
    await refused('/v1/chat/completions', { messages: MSG, logprobs: true, top_logprobs: 2.5 }, 'top_logprobs', 'invalid_type');
    await refused('/v1/chat/completions', { messages: MSG, logprobs: 3 }, 'logprobs', 'invalid_type');
    await refused('/v1/completions', { prompt: 'hi', logprobs: 6 }, 'logprobs', 'invalid_value');
    await refused('/v1/completions', { prompt: 'hi', logprobs: 1.5 }, 'logprobs', 'invalid_type');
    await refused('/v1/completions', { prompt: 'hi', logprobs: true }, 'logprobs', 'invalid_type');
    const r = await postJson(ts.port, '/v1/chat/completions', { messages: MSG, max_tokens: 1, top_logprobs: 21, logprobs: true });
    expect(r.json.error.message).toMatch(/top_logprobs must be between 0 and 20/);
  });
});

describe('the wire shapes', () => {
  it('legacy top_logprobs keys are own properties, even a token spelled __proto__; ids the tokenizer lacks have no bytes', () => {
    const tok = ts.models.current!.tokenizer;
    const e = logprobEntry(tok, tok.vocabSize + 5, { logprob: -1, top: [{ id: tok.vocabSize + 5, logprob: -1 }] }, 1, 0);
    expect(e).toMatchObject({ token: '', bytes: null, logprob: -1 });
    const proto = { ...e, token: '__proto__', top: [{ token: '__proto__', bytes: null, logprob: -0.5 }] };
    const m = completionLogprobs([proto]).top_logprobs[0]!;
    expect(Object.keys(m)).toEqual(['__proto__']);
    expect(JSON.parse(JSON.stringify(m))).toEqual(JSON.parse('{"__proto__": -0.5}'));
    // a probability too small for a logarithm reads as OpenAI writes it
    expect(logprobEntry(tok, 0, { logprob: null as unknown as number, top: [] }, 0, 0).logprob).toBe(-9999);
  });
});
