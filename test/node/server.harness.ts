// Starts a ClaspServer with the OpenAI API on a free loopback port for the server tests, and a few
// raw-HTTP helpers for requests the `openai` client cannot make (bad Host, broken bodies, ...).
import * as http from 'node:http';
import OpenAI, { type APIPromise } from 'openai';
import type { Stream } from 'openai/streaming';
import type { Completion, CompletionCreateParamsNonStreaming, CompletionCreateParamsStreaming } from 'openai/resources/completions';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions';
import { ModelManager } from '../../src/services/ModelManager';
import { OpenAiApi } from '../../src/server/openai';
import { ClaspServer, type ServerLimits } from '../../src/server/server';

// The server answers with its loaded model when a request names none; the openai types insist on a
// `model`, so the tests see the client through this type, where it is optional.
type ModelOptional<T> = Omit<T, 'model'> & { model?: string };
type RequestOptions = Parameters<OpenAI['chat']['completions']['create']>[1];
export interface LenientClient {
  chat: {
    completions: {
      create(body: ModelOptional<ChatCompletionCreateParamsNonStreaming>, options?: RequestOptions): APIPromise<ChatCompletion>;
      create(body: ModelOptional<ChatCompletionCreateParamsStreaming>, options?: RequestOptions): APIPromise<Stream<ChatCompletionChunk>>;
    };
  };
  completions: {
    create(body: ModelOptional<CompletionCreateParamsNonStreaming>, options?: RequestOptions): APIPromise<Completion>;
    create(body: ModelOptional<CompletionCreateParamsStreaming>, options?: RequestOptions): APIPromise<Stream<Completion>>;
  };
  models: OpenAI['models'];
}

export interface TestServer {
  models: ModelManager;
  server: ClaspServer;
  api: OpenAiApi;
  url: string;
  port: number;
  client: LenientClient;
  close(): Promise<void>;
}

export async function startServer(
  opts: { models?: ModelManager; modelsDir?: string; nCtx?: number; apiKey?: string; limits?: Partial<ServerLimits> } = {},
): Promise<TestServer> {
  const models = opts.models ?? new ModelManager({ threads: 2, modelsDir: opts.modelsDir, nCtx: opts.nCtx });
  await models.ensure();
  const server = new ClaspServer({ models, port: 0, apiKey: opts.apiKey, limits: opts.limits });
  const api = new OpenAiApi(server, { shutdownGraceMs: 1000 });
  server.use(api);
  const { url, port } = await server.listen();
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: opts.apiKey ?? 'unused', maxRetries: 0, timeout: 120_000 }) as unknown as LenientClient;
  return { models, server, api, url, port, client, close: () => server.close() };
}

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One HTTP request with full control over headers and body. */
export function raw(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          try {
            json = JSON.parse(body);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const postJson = (port: number, path: string, body: unknown, headers: Record<string, string> = {}) =>
  raw(port, { method: 'POST', path, body: typeof body === 'string' ? body : JSON.stringify(body), headers });

export async function health(port: number): Promise<{ status: string; busy: boolean }> {
  return (await raw(port, { path: '/health' })).json;
}

/** Polls until `cond` holds (a hang guard, not a timing assumption). */
export async function waitFor(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The error body every refusal must have (OpenAI's format). */
export function expectOpenAiError(r: RawReply, status: number, code?: string): void {
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${r.body}`);
  const e = r.json?.error;
  if (!e || typeof e.message !== 'string' || typeof e.type !== 'string' || !('param' in e) || !('code' in e)) {
    throw new Error(`not an OpenAI error body: ${r.body}`);
  }
  if (code !== undefined && e.code !== code) throw new Error(`expected code ${code}, got ${e.code}: ${r.body}`);
}
