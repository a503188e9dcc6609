// The API server's parts that need no engine: the stop-string matcher, the request queue, body
// validation and the `clasp serve` flags.
import { describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/args';
import { serveCommand } from '../../src/cli/serve';
import { chatRequestSchema, completionRequestSchema, parseBody, UNSUPPORTED } from '../../src/server/openaiSchemas';
import { StopMatcher } from '../../src/server/stopStrings';
import { RequestQueue } from '../../src/server/requestQueue';

function feed(stops: string[], pieces: string[]): { out: string[]; stopped: boolean; tail: string } {
  const m = new StopMatcher(stops);
  const out = pieces.map((p) => m.push(p));
  return { out, stopped: m.stopped, tail: m.flush() };
}

describe('StopMatcher', () => {
  it('passes text through without stop strings', () => {
    expect(feed([], ['a', 'b'])).toEqual({ out: ['a', 'b'], stopped: false, tail: '' });
  });

  it('stops at a stop string inside one piece and trims it', () => {
    const r = feed(['END'], ['hello END world']);
    expect(r.out).toEqual(['hello ']);
    expect(r.stopped).toBe(true);
    expect(r.tail).toBe('');
  });

  it('holds back a possible start of a stop string across pieces', () => {
    const r = feed(['###'], ['a #', '#', '# b']);
    expect(r.out).toEqual(['a ', '', '']);
    expect(r.stopped).toBe(true);
  });

  it('releases held text when the stop string does not follow', () => {
    const r = feed(['###'], ['a #', '#x', 'y']);
    expect(r.out).toEqual(['a ', '##x', 'y']);
    expect(r.stopped).toBe(false);
    expect(r.out.join('') + r.tail).toBe('a ##xy');
  });

  it('gives back held text at the end', () => {
    expect(feed(['\n\n'], ['line\n'])).toEqual({ out: ['line'], stopped: false, tail: '\n' });
  });

  it('picks the earliest of several stop strings', () => {
    const r = feed(['world', 'lo'], ['hello world']);
    expect(r.out).toEqual(['hel']);
    expect(r.stopped).toBe(true);
  });

  it('ignores everything after a stop', () => {
    const m = new StopMatcher(['x']);
    expect(m.push('abxcd')).toBe('ab');
    expect(m.push('more')).toBe('');
    expect(m.flush()).toBe('');
  });

  it('never splits a surrogate pair', () => {
    const m = new StopMatcher(['\uDE00z']);
    // "😀" is \uD83D\uDE00; the tail \uDE00 could start the stop string, but must not be cut off alone
    const out = m.push('a😀');
    expect(out).toBe('a');
    expect(m.flush()).toBe('😀');
  });
});

describe('RequestQueue', () => {
  it('runs one at a time in order, drops aborted waiters, refuses when full', async () => {
    const q = new RequestQueue(2);
    const order: string[] = [];
    const a = new AbortController();
    const relA = await q.acquire(a.signal);
    const b = new AbortController();
    const pb = q.acquire(b.signal).then((rel) => (order.push('b'), rel));
    const c = new AbortController();
    const pc = q.acquire(c.signal);
    await expect(q.acquire(new AbortController().signal)).rejects.toMatchObject({ status: 429 });
    c.abort(new Error('gone'));
    await expect(pc).rejects.toThrow('gone');
    expect(q.stats).toEqual({ running: 1, waiting: 1 });
    const d = new AbortController();
    const pd = q.acquire(d.signal).then((rel) => (order.push('d'), rel));
    relA();
    const relB = await pb;
    relB();
    const relD = await pd;
    relD();
    expect(order).toEqual(['b', 'd']);
    expect(q.stats).toEqual({ running: 0, waiting: 0 });
    q.close();
    await expect(q.acquire(new AbortController().signal)).rejects.toMatchObject({ status: 503 });
  });
});

describe('request validation', () => {
  const chat = (b: Record<string, unknown>) => () => parseBody(chatRequestSchema, { messages: [{ role: 'user', content: 'hi' }], ...b }, 'chat');
  const completion = (b: Record<string, unknown>) => () => parseBody(completionRequestSchema, { prompt: 'hi', ...b }, 'completions');

  it('accepts the supported fields and nulls', () => {
    expect(chat({ model: 'm', max_tokens: 5, temperature: 0.5, top_p: 0.9, top_k: 40, seed: 1, stop: ['a'], stream: true, stream_options: { include_usage: true }, clasp: { mode: 'static', skip: 'auto', det: 0.5, max_draft: 4, loi: 2, trace: true } })).not.toThrow();
    expect(chat({ temperature: null, stop: null, seed: null, clasp: null })).not.toThrow();
    expect(completion({ prompt: [1, 2, 3], max_tokens: 3, echo: false, best_of: 1, suffix: '' })).not.toThrow();
  });

  it('refuses unknown fields at every level, naming them', () => {
    expect(chat({ bogus: 1 })).toThrow(/Unrecognized request argument supplied: bogus/);
    expect(chat({ clasp: { turbo: true } })).toThrow(/in 'clasp': turbo/);
    expect(() => parseBody(chatRequestSchema, { messages: [{ role: 'user', content: 'x', extra: 1 }] }, 'chat')).toThrow(/extra/);
  });

  it('refuses each unsupported field with a non-neutral value, and takes its neutral value', () => {
    const asks: Record<string, unknown> = {
      n: 2, best_of: 2, frequency_penalty: 0.5, presence_penalty: 1, logit_bias: { '5': 1 },
      echo: true, suffix: 'x', tools: [{}], tool_choice: 'auto', functions: [{}], function_call: 'auto',
      response_format: { type: 'json_object' }, modalities: ['audio'], audio: {}, prediction: {}, web_search_options: {},
      reasoning_effort: 'low', verbosity: 'low',
    };
    for (const u of UNSUPPORTED) {
      const parse = u.endpoints[0] === 'chat' ? chat : completion;
      if (u.note.startsWith('ignored')) continue;
      const v = asks[u.field];
      expect(parse({ [u.field]: v }), u.field).toThrow(new RegExp(`'${u.field}'`));
    }
    expect(chat({ n: 1, frequency_penalty: 0, presence_penalty: 0, logit_bias: {}, logprobs: false, top_logprobs: 0, tools: [], tool_choice: 'none', response_format: { type: 'text' }, modalities: ['text'] })).not.toThrow();
    expect(chat({ user: 'x', metadata: { a: 'b' }, store: true, service_tier: 'auto', parallel_tool_calls: false })).not.toThrow();
  });

  it('checks ranges and types', () => {
    expect(chat({ temperature: 2.5 })).toThrow(/temperature/);
    expect(chat({ top_p: -1 })).toThrow(/top_p/);
    expect(chat({ max_tokens: 0 })).toThrow(/max_tokens/);
    expect(chat({ seed: -1 })).toThrow(/seed/);
    expect(chat({ stop: ['a', 'b', 'c', 'd', 'e'] })).toThrow(/stop/);
    expect(chat({ stop: '' })).toThrow(/stop/);
    expect(chat({ clasp: { max_draft: 0 } })).toThrow(/clasp.max_draft/);
    expect(() => parseBody(chatRequestSchema, { messages: [] }, 'chat')).toThrow(/at least one message/);
    expect(() => parseBody(chatRequestSchema, 'x', 'chat')).toThrow(/JSON object/);
  });
});

describe('clasp serve flags', () => {
  it('--help prints the usage', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await serveCommand(['--help'])).toBe(0);
      const text = log.mock.calls.map((c) => String(c[0])).join('\n');
      for (const f of ['--host', '--port', '--api-key', '--models-dir', '--backend', '--threads', '--max-body', '--max-tokens-limit', '--queue', '--no-ui']) {
        expect(text).toContain(f);
      }
    } finally {
      log.mockRestore();
    }
  });

  it('refuses bad values before loading anything', async () => {
    await expect(serveCommand(['--port', '70000'])).rejects.toThrow(UsageError);
    await expect(serveCommand(['--queue', '-1'])).rejects.toThrow(UsageError);
    await expect(serveCommand(['--models-dir', '/nonexistent/dir'])).rejects.toThrow(/no such folder/);
    await expect(serveCommand(['--frobnicate'])).rejects.toThrow(/unknown option/);
  });
});
