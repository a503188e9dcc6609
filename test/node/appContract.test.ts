// The app API contract, without a model: every channel has a schema and a handler, bad payloads
// are refused with messages that name the field, conversations CRUD, exports and trace import.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, parsePayload } from '../../src/app/apiErrors';
import { AppService } from '../../src/app/AppService';
import { defaultChatSettings } from '../../src/shared/settings';
import { createApp, resolveDataDir } from '../../src/app/createApp';
import { ModelManager } from '../../src/services/ModelManager';
import { SessionStore } from '../../src/sessions/SessionStore';
import { requests, type AppEvent, type Channel, type Conversation, type Responses } from '../../src/shared/api';
import { parseTrace, type Trace } from '../../src/shared/trace';
import { sampleTrace } from './helpers/traces';

// Compile-time: the response map names exactly the request channels.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const channelsMatch: Same<keyof Responses, Channel> = true;

let dir: string;
let store: SessionStore;
let models: ModelManager;
let app: AppService;

async function rejects(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error('expected the call to fail');
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-app-'));
  store = new SessionStore({ file: path.join(dir, 's.db') });
  models = new ModelManager();
  app = new AppService({ models, store, log: () => {} });
});

afterEach(async () => {
  await app.close();
  store.close();
  models.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the channel map', () => {
  it('every channel has a zod schema and a handler', async () => {
    expect(channelsMatch).toBe(true);
    const channels = Object.keys(requests) as Channel[];
    expect(channels.length).toBeGreaterThanOrEqual(15);
    for (const c of channels) {
      expect(typeof requests[c].safeParse).toBe('function');
      // A call with an empty payload reaches validation or the handler, never "unknown channel".
      const r = await app.call(c, {}).then(
        () => null,
        (e: ApiError) => e,
      );
      if (r) expect(r.code, `${c}: ${r.message}`).not.toBe('unknown_channel');
    }
  });

  it('unknown channels are refused, including object-prototype names', async () => {
    for (const c of ['nope', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 42, null]) {
      const e = await rejects(app.call(c, {}));
      expect(e.code).toBe('unknown_channel');
      expect(e.status).toBe(404);
    }
    expect((await rejects(app.call('chat:explode', {}))).message).toMatch(/unknown channel "chat:explode"; the channels are: conversations:list/);
  });

  it('invalid payloads get a 400 naming the channel and the field', async () => {
    const cases: [Channel, unknown, RegExp][] = [
      ['conversations:delete', {}, /conversations:delete: invalid request: id: /],
      ['conversations:delete', { id: '../../etc/passwd' }, /id: /],
      ['conversations:delete', { id: 'x'.repeat(65) }, /id: /],
      ['chat:send', { conversationId: 'c', content: '' }, /content: /],
      ['chat:send', { conversationId: 'c', content: 5 }, /content: /],
      ['chat:send', 'hello', /chat:send: invalid request: \(payload\): /],
      ['conversations:update', { id: 'c', settings: { det: 2 } }, /settings\.det: /],
      ['conversations:update', { id: 'c', settings: { mode: 'turbo' } }, /settings\.mode: /],
      ['conversations:create', { settings: { skip: 'lots' } }, /settings\.skip: /],
      ['export:trace', { traceId: 't', format: 'pdf' }, /format: /],
      ['models:load', { path: '' }, /path: /],
      ['trace:import', { text: 42 }, /text: /],
    ];
    for (const [c, p, re] of cases) {
      const e = await rejects(app.call(c, p));
      expect(e.code, c).toBe('bad_request');
      expect(e.status).toBe(400);
      expect(e.message).toMatch(re);
    }
    // The same check is available to the Electron main process directly.
    expect(() => parsePayload('chat:stop', {})).toThrow(/conversationId/);
    expect(parsePayload('conversations:list', undefined)).toEqual({});
  });

  it('missing things are 404s', async () => {
    for (const [c, p] of [
      ['messages:list', { conversationId: 'missing' }],
      ['chat:send', { conversationId: 'missing', content: 'hi' }],
      ['chat:regenerate', { conversationId: 'missing' }],
      ['conversations:update', { id: 'missing', title: 'x' }],
      ['trace:get', { traceId: 'missing' }],
      ['export:chat', { conversationId: 'missing', format: 'json' }],
      ['export:trace', { traceId: 'missing', format: 'json' }],
    ] as [Channel, unknown][]) {
      const e = await rejects(app.call(c, p));
      expect(e.code, c).toBe('not_found');
    }
  });
});

describe('conversations', () => {
  it('are created with the model defaults plus CLaSp defaults, updated, listed and deleted', async () => {
    const c = (await app.call('conversations:create', {})) as Conversation;
    expect(c.title).toBe('New chat');
    expect(c.settings).toEqual(defaultChatSettings());
    expect(c.settings).toMatchObject({ mode: 'clasp', skip: 'auto', maxDraft: 12, temperature: 0.6, topP: 0.9, topK: 0 });
    expect(c.settings.det).toBeUndefined(); // chosen from the cost table
    expect(c.settings.loi).toBeUndefined();
    const d = (await app.call('conversations:create', { title: 'Math', systemPrompt: 'Be exact.', settings: { mode: 'ar', temperature: 0 } })) as Conversation;
    expect(d.settings.mode).toBe('ar');
    expect(d.settings.temperature).toBe(0);
    expect(d.settings.det).toBeUndefined();

    const u = (await app.call('conversations:update', { id: c.id, title: 'Renamed', settings: { skip: 8, maxTokens: 64 } })) as Conversation;
    expect(u.title).toBe('Renamed');
    expect(u.settings.skip).toBe(8);
    expect(u.settings.maxTokens).toBe(64);
    expect(u.settings.mode).toBe('clasp');

    const list = (await app.call('conversations:list', {})) as Conversation[];
    expect(list.map((x) => x.id).sort()).toEqual([c.id, d.id].sort());

    const events: AppEvent[] = [];
    app.onAppEvent((e) => events.push(e));
    expect(await app.call('conversations:delete', { id: c.id })).toEqual({ deleted: true });
    expect(await app.call('conversations:delete', { id: c.id })).toEqual({ deleted: false });
    expect(events).toEqual([{ type: 'conversation-deleted', conversationId: c.id }]);
    expect(((await app.call('conversations:list', {})) as Conversation[]).map((x) => x.id)).toEqual([d.id]);
  });

  it('regenerating an empty conversation says there is nothing to regenerate', async () => {
    const c = (await app.call('conversations:create', {})) as Conversation;
    // (needs the model: it is loaded first, so this also checks the bundled model loads)
    const e = await rejects(app.call('chat:regenerate', { conversationId: c.id }));
    expect(e.message).toMatch(/nothing to regenerate/);
  });

  it('stop with nothing running is a no-op', async () => {
    const c = (await app.call('conversations:create', {})) as Conversation;
    expect(await app.call('chat:stop', { conversationId: c.id })).toEqual({ stopped: false, messageId: null });
  });
});

describe('traces', () => {
  it('import, get, list, export in every format, and re-import what was exported', async () => {
    const t = sampleTrace();
    const events: AppEvent[] = [];
    app.onAppEvent((e) => events.push(e));
    const { traceId, trace } = (await app.call('trace:import', { text: JSON.stringify(t) })) as { traceId: string; trace: Trace };
    expect(trace).toEqual(t);
    expect(events).toEqual([{ type: 'trace-imported', traceId, name: 'imported · tiny · clasp' }]);
    expect(await app.call('trace:get', { traceId })).toEqual(t);
    expect(await app.call('traces:list', {})).toEqual([expect.objectContaining({ id: traceId, source: 'imported' })]);

    const json = (await app.call('export:trace', { traceId, format: 'json' })) as { content: string; filename: string };
    expect(parseTrace(json.content)).toEqual(t);
    const again = (await app.call('trace:import', { text: json.content })) as { traceId: string; trace: Trace };
    expect(again.trace).toEqual(t);
    expect(again.traceId).not.toBe(traceId);

    const sb = (await app.call('export:trace', { traceId, format: 'specbench' })) as { content: string };
    expect(JSON.parse(sb.content).choices[0].accept_lengths).toEqual([1, 3]);
    const csv = (await app.call('export:trace', { traceId, format: 'csv' })) as { content: string };
    expect(csv.content.split('\n')[0]).toMatch(/^kind,round,pos,tokens,/);

    expect(await app.call('trace:delete', { traceId })).toEqual({ deleted: true });
    expect((await rejects(app.call('trace:get', { traceId }))).code).toBe('not_found');
  });

  it('a corrupt or hostile trace gets a clear 400 and changes nothing', async () => {
    const t = sampleTrace();
    const before = store.countRows('traces');
    const bad = [
      'not json at all',
      JSON.stringify({ format: 'lmstudio-chat', messages: [] }),
      JSON.stringify({ ...t, model: { ...t.model, n_layer: 1e9 } }),
      JSON.stringify({ ...t, rounds: [{ ...t.rounds[0], verify: { ...t.rounds[0]!.verify, accepted: 3, p: [] } }], summary: t.summary }),
      JSON.stringify({ ...t, rounds: [{ ...t.rounds[0], draft: { ...t.rounds[0]!.draft, ids: new Array(10_000).fill(1) } }] }),
      JSON.stringify({ ...t, prompt_ids: ['/etc/passwd'] }),
      JSON.stringify({ ...t, config: { ...t.config, mode: 'ar' } }),
    ];
    for (const text of bad) {
      const e = await rejects(app.call('trace:import', { text }));
      expect(e.code).toBe('bad_request');
      expect(e.message).toMatch(/^the imported file: /);
    }
    expect(store.countRows('traces')).toBe(before);
  });
});

describe('createApp', () => {
  it('puts sessions.db in the data folder; CLASP_DATA_DIR overrides the default', async () => {
    const prev = process.env.CLASP_DATA_DIR;
    try {
      process.env.CLASP_DATA_DIR = path.join(dir, 'env');
      expect(resolveDataDir(undefined, '/electron/userData')).toBe(path.join(dir, 'env'));
      delete process.env.CLASP_DATA_DIR;
      expect(resolveDataDir(undefined, '/electron/userData')).toBe(path.resolve('/electron/userData'));
      expect(resolveDataDir()).toBe(path.join(os.homedir(), '.clasp-studio'));
    } finally {
      if (prev === undefined) delete process.env.CLASP_DATA_DIR;
      else process.env.CLASP_DATA_DIR = prev;
    }
    const a = createApp({ dataDir: path.join(dir, 'data'), log: () => {} });
    await a.app.call('conversations:create', { title: 'kept' });
    await a.close();
    expect(fs.existsSync(path.join(dir, 'data', 'sessions.db'))).toBe(true);
    const b = createApp({ dataDir: path.join(dir, 'data'), log: () => {} });
    expect(((await b.app.call('conversations:list', {})) as Conversation[]).map((c) => c.title)).toEqual(['kept']);
    await b.close();
  });

  it('moves a damaged database aside and starts a new one', async () => {
    const d = path.join(dir, 'broken');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'sessions.db'), 'garbage '.repeat(1000));
    const logs: string[] = [];
    const a = createApp({ dataDir: d, log: (m) => logs.push(m) });
    expect(a.store.schemaVersion()).toBeGreaterThan(0);
    await a.close();
    expect(logs.join('\n')).toMatch(/moved to .*sessions\.db\.corrupt-/);
    expect(fs.readdirSync(d).some((f) => f.startsWith('sessions.db.corrupt-'))).toBe(true);
  });
});
