// Bad and hostile requests to `clasp serve`'s API: each gets the right status and an OpenAI-style
// error body, and the server goes on serving the next request.
import * as net from 'node:net';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GenerationResult } from '../../src/services/EngineService';
import { expectOpenAiError, health, postJson, raw, startServer, waitFor, type TestServer } from './server.harness';

let ts: TestServer;
const MSG = [{ role: 'user' as const, content: 'Count from 1 to 10.' }];

beforeAll(async () => {
  ts = await startServer({ limits: { maxBodyBytes: 64 * 1024, maxTokens: 1000, queueLength: 8, bodyTimeoutMs: 400 } });
});

afterAll(async () => {
  await ts?.close();
  ts?.models.dispose();
});

// After every bad request the server must still answer a good one.
afterEach(async () => {
  const r = await postJson(ts.port, '/v1/chat/completions', { messages: MSG, max_tokens: 2, temperature: 0, clasp: { mode: 'ar' } });
  expect(r.status).toBe(200);
  expect(r.json.choices[0].message.content.length).toBeGreaterThan(0);
});

describe('malformed and invalid bodies → 400', () => {
  it('malformed JSON', async () => {
    expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', '{"messages": [{"role": "user", "content": "hi"}'), 400);
  });

  it('an empty body and a non-object body', async () => {
    expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', ''), 400);
    expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', '[1, 2]'), 400, 'invalid_type');
  });

  it('wrong types name the parameter', async () => {
    const r = await postJson(ts.port, '/v1/chat/completions', { messages: MSG, temperature: 'hot' });
    expectOpenAiError(r, 400, 'invalid_type');
    expect(r.json.error.param).toBe('temperature');
    const r2 = await postJson(ts.port, '/v1/chat/completions', { messages: 'hello' });
    expectOpenAiError(r2, 400);
    expect(r2.json.error.param).toBe('messages');
    const r3 = await postJson(ts.port, '/v1/chat/completions', { messages: [{ role: 'user', content: 42 }] });
    expectOpenAiError(r3, 400);
    expect(r3.json.error.param).toMatch(/^messages\[0\]\.content/);
    expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', { messages: MSG, max_tokens: 2.5 }), 400);
    expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', { messages: MSG, temperature: 3 }), 400);
    expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', { messages: MSG, clasp: { mode: 'fast' } }), 400);
    expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', { messages: MSG, clasp: { skip: 40 } }), 400);
    expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', { messages: [{ role: 'wizard', content: 'hi' }] }), 400);
    expectOpenAiError(await postJson(ts.port, '/v1/completions', { prompt: [99999999] }), 400);
  });

  it('a max_tokens above the server limit', async () => {
    const r = await postJson(ts.port, '/v1/chat/completions', { messages: MSG, max_tokens: 1_000_000 });
    expectOpenAiError(r, 400, 'integer_above_max_value');
    expect(r.json.error.param).toBe('max_tokens');
    expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', { messages: MSG, max_completion_tokens: 1001 }), 400, 'integer_above_max_value');
  });

  it('an empty messages array', async () => {
    expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', { messages: [] }), 400);
  });

  it('unknown and unsupported fields', async () => {
    const r = await postJson(ts.port, '/v1/chat/completions', { messages: MSG, frobnicate: true });
    expectOpenAiError(r, 400, 'unknown_parameter');
    expect(r.json.error.param).toBe('frobnicate');
    const n = await postJson(ts.port, '/v1/chat/completions', { messages: MSG, n: 2 });
    expectOpenAiError(n, 400, 'unsupported_value');
    expect(n.json.error.param).toBe('n');
    expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', { messages: MSG, tools: [{ type: 'function', function: { name: 'f' } }] }), 400, 'unsupported_value');
    expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', { messages: MSG, stream_options: { include_usage: true } }), 400);
    expectOpenAiError(await postJson(ts.port, '/v1/completions', { prompt: ['a', 'b'] }), 400, 'unsupported_value');
    // neutral values and ignored fields are accepted
    const ok = await postJson(ts.port, '/v1/chat/completions', { messages: MSG, n: 1, user: 'u', presence_penalty: 0, logprobs: false, max_tokens: 1 });
    expect(ok.status).toBe(200);
  });

  it('the openai client sees the errors as APIError with status and code', async () => {
    const err = await ts.client.chat.completions.create({ messages: [], max_tokens: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
  });
});

describe('models', () => {
  it('an unknown model → 404 model_not_found', async () => {
    const err = await ts.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_found');
    expectOpenAiError(await raw(ts.port, { path: '/v1/models/nope' }), 404, 'model_not_found');
  });

  it('a path in the model field reads no file', async () => {
    for (const model of ['/etc/passwd', '../../../etc/passwd', 'resources/clasp-demo-29M-q8_0.gguf', '/work/main/resources/clasp-demo-29M-q8_0.gguf']) {
      expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', { model, messages: MSG, max_tokens: 1 }), 404, 'model_not_found');
    }
  });
});

describe('transport limits', () => {
  it('an oversized body → 413', async () => {
    const big = 'x'.repeat(100 * 1024);
    const err = await ts.client.chat.completions.create({ messages: [{ role: 'user', content: big }], max_tokens: 1 }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    // and without a content-length (chunked upload)
    const r = await new Promise<string>((resolve) => {
      const s = net.connect(ts.port, '127.0.0.1', () => {
        s.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:' + ts.port + '\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
        const chunk = 'y'.repeat(80 * 1024);
        s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      });
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    expect(r === '' || r.startsWith('HTTP/1.1 413')).toBe(true);
  });

  it('a slow client (headers, part of the body, then nothing) → 408 or closed; others are served meanwhile', async () => {
    const s = net.connect(ts.port, '127.0.0.1');
    const done = new Promise<string>((resolve) => {
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${ts.port}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{"messages": [`);
    const meanwhile = await postJson(ts.port, '/v1/chat/completions', { messages: MSG, max_tokens: 2 });
    expect(meanwhile.status).toBe(200);
    const got = await done;
    expect(got).toMatch(/^HTTP\/1\.1 408 /);
    expect(got).toContain('"code":"timeout"');
  });

  /** Records what the engine returned for each generation (to see cancellations). */
  function watchEngine(): { calls: () => number; results: GenerationResult[]; restore: () => void } {
    const engine = ts.models.current!;
    const orig = engine.generate.bind(engine);
    const results: GenerationResult[] = [];
    const spy = vi.spyOn(engine, 'generate').mockImplementation((...a: Parameters<typeof orig>) => orig(...a).then((r) => (results.push(r), r)));
    return { calls: () => spy.mock.calls.length, results, restore: () => spy.mockRestore() };
  }

  it('a client that disconnects mid-stream cancels the generation', async () => {
    const eng = watchEngine();
    const ac = new AbortController();
    const stream = await ts.client.chat.completions.create(
      // 1000 tokens (the demo's context): on a fast machine 250 could all be written before the abort
      { messages: MSG, max_tokens: 1000, stream: true, clasp: { ignore_eos: true } } as never,
      { signal: ac.signal },
    ) as unknown as AsyncIterable<unknown>;
    let n = 0;
    try {
      for await (const _ of stream) {
        if (++n === 3) ac.abort();
      }
    } catch {
      /* aborted */
    }
    await waitFor(async () => !(await health(ts.port)).busy && ts.api.queueStats.running === 0, 'the engine to go idle', 10_000);
    await waitFor(() => eng.results.length === 1, 'the generation to return');
    eng.restore();
    expect(eng.results[0]!.finishReason).toBe('cancelled');
    expect(eng.results[0]!.ids.length).toBeLessThan(1000);
  });

  it('a client that disconnects while queued leaves the queue', async () => {
    const eng = watchEngine();
    // as long as the context allows (cancelled below): it must still run when the second request queues
    const long = ts.client.chat.completions.create({ messages: MSG, max_tokens: 1000, stream: true, clasp: { ignore_eos: true } } as never) as unknown as Promise<AsyncIterable<unknown> & { controller: AbortController }>;
    const s = await long;
    await waitFor(() => ts.api.queueStats.running === 1, 'the first request to run');
    const ac = new AbortController();
    const queued = ts.client.chat.completions.create({ messages: MSG, max_tokens: 2 }, { signal: ac.signal }).catch((e: unknown) => e);
    await waitFor(() => ts.api.queueStats.waiting === 1, 'the second request to wait');
    ac.abort();
    await queued;
    await waitFor(() => ts.api.queueStats.waiting === 0, 'the queue to empty', 5000);
    s.controller.abort();
    await waitFor(async () => ts.api.queueStats.running === 0 && !(await health(ts.port)).busy, 'the engine to go idle', 10_000);
    const calls = eng.calls();
    eng.restore();
    // the engine saw only the first request: the second left the queue before its turn
    expect(calls).toBe(1);
  });
});

describe('security checks', () => {
  it('a bad Host header → 403 (DNS rebinding)', async () => {
    expectOpenAiError(await raw(ts.port, { path: '/v1/models', headers: { host: 'evil.example:80' } }), 403);
  });

  it('a cross-site Origin → 403', async () => {
    expectOpenAiError(await postJson(ts.port, '/v1/chat/completions', { messages: MSG }, { origin: 'http://evil.example' }), 403);
  });

  it('unknown URL → 404, wrong method → 405', async () => {
    expectOpenAiError(await raw(ts.port, { path: '/v1/embeddings', method: 'POST', body: '{}' }), 404, 'unknown_url');
    expectOpenAiError(await raw(ts.port, { path: '/v1/chat/completions' }), 405);
  });

  it('with --api-key: no key or a wrong key → 401, the right key works', async () => {
    const keyed = await startServer({ models: ts.models, apiKey: 'sekret-key' });
    try {
      const wrong = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
      const err = await wrong.models.list().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expectOpenAiError(await raw(keyed.port, { path: '/v1/models' }), 401, 'invalid_api_key');
      const page = await keyed.client.models.list();
      expect(page.data.length).toBeGreaterThan(0);
    } finally {
      await keyed.close();
    }
  });
});

describe('queue', () => {
  it('a full queue → 429, and the queued request still completes', async () => {
    const small = await startServer({ models: ts.models, limits: { queueLength: 1 } });
    try {
      // as long as the context allows (cancelled below): it must still run while the queue fills
      const first = await small.client.chat.completions.create({ messages: MSG, max_tokens: 1000, stream: true, clasp: { ignore_eos: true } } as never) as unknown as AsyncIterable<unknown> & { controller: AbortController };
      await waitFor(() => small.api.queueStats.running === 1, 'the first request to run');
      const second = small.client.chat.completions.create({ messages: MSG, max_tokens: 2, temperature: 0 });
      await waitFor(() => small.api.queueStats.waiting === 1, 'the second request to wait');
      const err = await small.client.chat.completions.create({ messages: MSG, max_tokens: 2 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('queue_full');
      // a raw client sees when to come back
      const r = await postJson(small.port, '/v1/chat/completions', { messages: MSG, max_tokens: 2 });
      expectOpenAiError(r, 429, 'queue_full');
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
      first.controller.abort();
      const c = await second;
      expect(c.choices[0]!.message.content!.length).toBeGreaterThan(0);
    } finally {
      await small.close();
    }
  });

  it('shutdown refuses waiting requests (503) and cancels the running one after the grace period', async () => {
    const s2 = await startServer({ models: ts.models });
    const first = s2.client.chat.completions.create({ messages: MSG, max_tokens: 1000, clasp: { ignore_eos: true } } as never).catch((e: unknown) => e);
    await waitFor(() => s2.api.queueStats.running === 1, 'the first request to run');
    const second = s2.client.chat.completions.create({ messages: MSG, max_tokens: 2 }).catch((e: unknown) => e);
    await waitFor(() => s2.api.queueStats.waiting === 1, 'the second request to wait');
    await s2.close(); // grace 1 s in the harness
    expect((await second as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    const r = await first;
    // finished within the grace period, or cancelled with a 503
    expect(r instanceof OpenAI.APIError ? r.status : 200).toSatisfy((s: number) => s === 200 || s === 503);
    await waitFor(async () => !(await health(ts.port)).busy, 'the engine to go idle', 5000);
  });
});
