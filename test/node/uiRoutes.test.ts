// The UI API over HTTP (`clasp serve` + createUiExtension): the token is required, channels and
// payloads are checked, bodies are limited, and reply/model/app events arrive as server-sent events.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppService } from '../../src/app/AppService';
import { ModelManager } from '../../src/services/ModelManager';
import { ClaspServer } from '../../src/server/server';
import { createUiExtension } from '../../src/server/uiRoutes';
import { SessionStore } from '../../src/sessions/SessionStore';
import type { AppEvent, Conversation, Message, ReplyEvent, ResponseOf } from '../../src/shared/api';
import { DEMO_Q8 } from './helpers/engine';

let dir: string;
let models: ModelManager;
let store: SessionStore;
let app: AppService;
let server: ClaspServer;
let port: number;
let token: string;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: { result?: unknown; error?: { message: string; type: string; code: string | null } };
}

function request(opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json = {};
        try {
          json = JSON.parse(body);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const auth = () => ({ 'x-clasp-token': token, 'content-type': 'application/json' });

function call(channel: unknown, payload: unknown, headers: Record<string, string> = auth()): Promise<Reply> {
  return request({ path: '/api/ui/call', headers, body: JSON.stringify({ channel, payload }) });
}

interface Sse {
  events: { event: string; data: unknown }[];
  opened: Promise<void>;
  next(pred: (e: { event: string; data: unknown }) => boolean, timeoutMs?: number): Promise<{ event: string; data: unknown }>;
  ended: Promise<void>;
  close(): void;
}

function subscribe(headers: Record<string, string>): Sse {
  const events: { event: string; data: unknown }[] = [];
  const waiters: { pred: (e: { event: string; data: unknown }) => boolean; resolve: (e: { event: string; data: unknown }) => void }[] = [];
  let onOpen!: () => void;
  let onEnd!: () => void;
  const opened = new Promise<void>((r) => (onOpen = r));
  const ended = new Promise<void>((r) => (onEnd = r));
  const req = http.get({ host: '127.0.0.1', port, path: '/api/ui/events', headers, agent: false }, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.includes(': connected')) onOpen();
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (!data) continue;
        const e = { event, data: JSON.parse(data) as unknown };
        events.push(e);
        for (const w of [...waiters]) {
          if (w.pred(e)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(e);
          }
        }
      }
    });
    res.on('end', onEnd);
    res.on('close', onEnd);
  });
  req.on('error', () => onEnd());
  return {
    events,
    opened,
    ended,
    next(pred, timeoutMs = 30_000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('timed out waiting for an event')), timeoutMs);
        waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
      });
    },
    close: () => req.destroy(),
  };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-ui-'));
  models = new ModelManager({ backend: 'cpu', threads: 2, defaultModel: DEMO_Q8 });
  store = new SessionStore({ file: path.join(dir, 's.db') });
  app = new AppService({ models, store, log: () => {} });
  server = new ClaspServer({ models, port: 0 });
  server.use(createUiExtension(app, { maxBodyBytes: 64 * 1024 }));
  ({ port } = await server.listen());
  token = server.uiToken;
});

afterAll(async () => {
  await server.close();
  store.close();
  models.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('POST /api/ui/call', () => {
  it('needs the UI token (header or query; a cookie is no credential)', async () => {
    const r = await call('conversations:list', {}, { 'content-type': 'application/json' });
    expect(r.status).toBe(401);
    expect(r.json.error).toMatchObject({ type: 'authentication_error', code: 'ui_token' });
    const wrong = await call('conversations:list', {}, { 'content-type': 'application/json', 'x-clasp-token': 'guess' });
    expect(wrong.status).toBe(401);
    const viaCookie = await call('conversations:list', {}, { 'content-type': 'application/json', cookie: `clasp_ui=${token}` });
    expect(viaCookie.status).toBe(401);
    const viaHeader = await call('conversations:list', {}, auth());
    expect(viaHeader.status).toBe(200);
    expect(viaHeader.json).toEqual({ result: [] });
    expect(viaHeader.headers['cache-control']).toBe('no-store');
    // any credential that matches will do: a stale header does not hide the fresh query token
    const body = JSON.stringify({ channel: 'conversations:list', payload: {} });
    const mixed = await request({ path: `/api/ui/call?token=${token}`, headers: { 'content-type': 'application/json', 'x-clasp-token': 'stale' }, body });
    expect(mixed.status).toBe(200);
  });

  it('answers 404 for an unknown channel and 400 with the schema message for a bad payload', async () => {
    const u = await call('chat:explode', {});
    expect(u.status).toBe(404);
    expect(u.json.error).toMatchObject({ code: 'unknown_channel' });
    expect(u.json.error!.message).toMatch(/unknown channel "chat:explode"/);
    const proto = await call('__proto__', {});
    expect(proto.status).toBe(404);

    const b = await call('chat:send', { conversationId: 'c1', content: '' });
    expect(b.status).toBe(400);
    expect(b.json.error).toMatchObject({ code: 'bad_request', type: 'invalid_request_error' });
    expect(b.json.error!.message).toMatch(/^chat:send: invalid request: content: /);

    const nf = await call('messages:list', { conversationId: 'missing' });
    expect(nf.status).toBe(404);
    expect(nf.json.error!.message).toMatch(/no conversation with id missing/);
  });

  it('refuses bodies that are not a JSON {channel, payload} object, the wrong method, and oversized bodies', async () => {
    const notJson = await request({ path: '/api/ui/call', headers: auth(), body: '{"channel": ' });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error!.message).toMatch(/not valid JSON/);
    const arr = await request({ path: '/api/ui/call', headers: auth(), body: '[1,2]' });
    expect(arr.status).toBe(400);
    expect(arr.json.error!.message).toMatch(/expected \{"channel": string, "payload": object\}/);
    const form = await request({ path: '/api/ui/call', headers: { 'x-clasp-token': token, 'content-type': 'application/x-www-form-urlencoded' }, body: 'channel=x' });
    expect(form.status).toBe(415);
    const get = await request({ method: 'GET', path: '/api/ui/call', headers: auth() });
    expect(get.status).toBe(405);
    const big = await call('trace:import', { text: 'x'.repeat(100 * 1024) });
    expect(big.status).toBe(413);
    expect(big.json.error!.code).toBe('body_too_large');
    const other = await request({ method: 'GET', path: '/api/ui/nothing', headers: auth() });
    expect(other.status).toBe(404);
    const otherNoToken = await request({ method: 'GET', path: '/api/ui/nothing' });
    expect(otherNoToken.status).toBe(401);
  });

  it('refuses other origins before any UI route runs', async () => {
    const r = await call('conversations:list', {}, { ...auth(), origin: 'http://evil.example' });
    expect(r.status).toBe(403);
  });

  it('a hostile trace import is a 400 and stores nothing', async () => {
    const r = await call('trace:import', { text: JSON.stringify({ format: 'clasp-trace', version: 1, model: { name: 'x', n_layer: 2 }, rounds: 'nope' }) });
    expect(r.status).toBe(400);
    expect(r.json.error!.message).toMatch(/^the imported file: invalid clasp-trace/);
    expect(store.countRows('traces')).toBe(0);
  });
});

describe('GET /api/ui/events', () => {
  it('needs the UI token', async () => {
    const r = await request({ method: 'GET', path: '/api/ui/events' });
    expect(r.status).toBe(401);
  });

  it('streams app, model and reply events; a chat round trip over HTTP', async () => {
    const sse = subscribe({ 'x-clasp-token': token });
    await sse.opened;
    const created = await call('conversations:create', { settings: { temperature: 0, maxTokens: 12, fixedSeed: true } });
    expect(created.status).toBe(200);
    const conv = created.json.result as Conversation;

    const sent = await call('chat:send', { conversationId: conv.id, content: 'Count from 1 to 5.' });
    expect(sent.status).toBe(200);
    const { assistantMessage } = sent.json.result as ResponseOf<'chat:send'>;
    const done = await sse.next((e) => e.event === 'reply' && (e.data as ReplyEvent).type === 'done');
    expect((done.data as ReplyEvent & { type: 'done' }).messageId).toBe(assistantMessage.id);

    const replies = sse.events.filter((e) => e.event === 'reply').map((e) => e.data as ReplyEvent);
    expect(replies[0]).toMatchObject({ type: 'start', conversationId: conv.id, messageId: assistantMessage.id });
    const text = replies.filter((e) => e.type === 'tokens').map((e) => (e as { text: string }).text).join('');
    expect(sse.events.some((e) => e.event === 'model' && (e.data as { type: string }).type === 'loaded')).toBe(true);

    const list = await call('messages:list', { conversationId: conv.id });
    const msgs = list.json.result as Message[];
    expect(msgs.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(msgs[1]!.content).toBe(text);
    expect(msgs[1]!.status).toBe('complete');

    // The first message named the conversation and the reply's end moved it up: both came as app
    // events, so a window needs no second fetch of the list.
    const updates = sse.events
      .filter((e) => e.event === 'app' && (e.data as AppEvent).type === 'conversation-updated')
      .map((e) => (e.data as Extract<AppEvent, { type: 'conversation-updated' }>).conversation);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates[0]!.title).toBe('Count from 1 to 5.');
    expect(updates.at(-1)!.updatedAt).toBeGreaterThanOrEqual(updates[0]!.updatedAt);

    await call('conversations:delete', { id: conv.id });
    const del = await sse.next((e) => e.event === 'app' && (e.data as AppEvent).type === 'conversation-deleted');
    expect(del.data).toEqual({ type: 'conversation-deleted', conversationId: conv.id });
    sse.close();
  });

  it('server shutdown ends open event streams', async () => {
    const sse = subscribe({ 'x-clasp-token': token });
    await sse.opened;
    const s2 = new ClaspServer({ models, port: 0 });
    // (a second server to close, so the shared one stays up for other tests)
    const store2 = new SessionStore({ file: path.join(dir, 's2.db') });
    const app2 = new AppService({ models, store: store2, log: () => {} });
    s2.use(createUiExtension(app2));
    const { port: p2 } = await s2.listen();
    const saved = port;
    port = p2;
    const sse2 = subscribe({ 'x-clasp-token': s2.uiToken });
    await sse2.opened;
    port = saved;
    await s2.close();
    await sse2.ended;
    store2.close();
    sse.close();
  });
});
