// Model switching under load, --models-dir oddities, the model catalogue and the data folder: a bad
// file or another model never cuts off a running reply; dangling links are skipped; a path outside
// the folder is refused without telling whether it exists; picked models are remembered; one process
// per data folder; sessions.db is private.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/app/apiErrors';
import { AppService } from '../../src/app/AppService';
import { createApp, DB_FILE } from '../../src/app/createApp';
import { LOCK_FILE } from '../../src/app/dataLock';
import { ModelManager } from '../../src/services/ModelManager';
import { ClaspServer } from '../../src/server/server';
import { OpenAiApi } from '../../src/server/openai';
import { createUiExtension } from '../../src/server/uiRoutes';
import { SessionStore } from '../../src/sessions/SessionStore';
import type { ResponseOf } from '../../src/shared/api';
import { DEMO_Q8 } from './helpers/engine';
import { expectOpenAiError, raw, waitFor } from './server.harness';

let dir: string;
let modelsDir: string;
let models: ModelManager;
let store: SessionStore;
let app: AppService;
let server: ClaspServer;
let api: OpenAiApi;
let port: number;
const logged: string[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-models-'));
  modelsDir = path.join(dir, 'models');
  fs.mkdirSync(modelsDir);
  fs.copyFileSync(DEMO_Q8, path.join(modelsDir, 'demo.gguf'));
  fs.copyFileSync(DEMO_Q8, path.join(modelsDir, 'other.gguf'));
  fs.writeFileSync(path.join(modelsDir, 'garbage.gguf'), 'this is not a model');
  // dangling links: a GGUF, and the weights of a Hugging Face folder
  fs.symlinkSync(path.join(dir, 'gone.gguf'), path.join(modelsDir, 'dangling.gguf'));
  fs.mkdirSync(path.join(modelsDir, 'hf-broken'));
  fs.writeFileSync(path.join(modelsDir, 'hf-broken', 'config.json'), '{}');
  fs.symlinkSync(path.join(dir, 'gone.safetensors'), path.join(modelsDir, 'hf-broken', 'model.safetensors'));
  models = new ModelManager({ backend: 'cpu', threads: 2, modelsDir, defaultModel: path.join(modelsDir, 'demo.gguf') });
  await models.ensure();
  store = new SessionStore({ file: path.join(dir, 'sessions.db') });
  app = new AppService({ models, store, log: (m) => logged.push(m) });
  server = new ClaspServer({ models, port: 0, log: (m) => logged.push(m) });
  api = new OpenAiApi(server, { shutdownGraceMs: 500 });
  server.use(api).use(createUiExtension(app));
  port = (await server.listen()).port;
});

afterAll(async () => {
  await server?.close();
  store?.close();
  models?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('--models-dir', () => {
  it('skips unreadable entries: /v1/models and requests naming a model still work', async () => {
    const r = await raw(port, { path: '/v1/models' });
    expect(r.status).toBe(200);
    const ids = (r.json.data as { id: string }[]).map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['demo', 'other']));
    expect(ids).not.toContain('dangling');
    expect((await raw(port, { path: '/v1/models/other' })).status).toBe(200);
  });

  it('a path outside the folder is refused the same way whether or not it exists', async () => {
    const outside = [path.join(dir, 'sessions.db'), path.join(dir, 'no-such-model.gguf'), '/etc/hostname', '/nonexistent/x.gguf'];
    const messages = await Promise.all(outside.map((p) => app.call('models:load', { path: p }).catch((e: ApiError) => e)));
    for (const [i, e] of messages.entries()) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).code).toBe('bad_request');
      expect((e as ApiError).message).toBe(`${outside[i]}: models can only be loaded from ${modelsDir}`);
    }
  });
});

describe('switching models while a reply streams', () => {
  it('a bad file or another model from the UI is refused; the running /v1 reply finishes', async () => {
    // 1000 tokens (the demo's context), so the reply still runs during both loads on a fast machine
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'Count.' }], max_tokens: 1000, stream: true, clasp: { ignore_eos: true, mode: 'ar' } });
    const stream = raw(port, { method: 'POST', path: '/v1/chat/completions', body });
    await waitFor(() => api.queueStats.running === 1 && models.busy, 'the /v1 request to run');
    const bad = (await app.call('models:load', { path: path.join(modelsDir, 'garbage.gguf') }).catch((e: ApiError) => e)) as ApiError;
    expect(bad.message).toMatch(/garbage\.gguf could not be loaded: .*not a GGUF file/);
    expect(logged.some((l) => /model load failed: .*garbage\.gguf/.test(l))).toBe(true);
    const busy = (await app.call('models:load', { path: path.join(modelsDir, 'other.gguf') }).catch((e: ApiError) => e)) as ApiError;
    expect(busy.code).toBe('busy');
    const r = await stream;
    expect(r.status).toBe(200);
    expect(r.body).toContain('"finish_reason":"length"');
    expect(r.body).not.toContain('cancelled');
    expect(models.current!.info.path).toBe(path.join(modelsDir, 'demo.gguf'));
  });

  it('a /v1 request naming another model while one runs elsewhere gets 409 with Retry-After', async () => {
    const running = new AbortController();
    const untrack = models.track(running); // what a UI reply registers while it streams
    try {
      const r = await raw(port, { method: 'POST', path: '/v1/chat/completions', body: JSON.stringify({ model: 'other', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }) });
      expectOpenAiError(r, 409, 'model_busy');
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
      expect(running.signal.aborted).toBe(false);
    } finally {
      untrack();
    }
  });

  it('a /v1 request naming a broken model: 500, the model stays, and the failure is logged', async () => {
    const r = await raw(port, { method: 'POST', path: '/v1/chat/completions', body: JSON.stringify({ model: 'garbage', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }) });
    expectOpenAiError(r, 500, 'model_load_failed');
    expect(logged.some((l) => /could not load the model .*garbage\.gguf/.test(l))).toBe(true);
    expect(models.current!.info.path).toBe(path.join(modelsDir, 'demo.gguf'));
  });
});

describe('the data folder', () => {
  it('one process per folder: a second gets a clear refusal, the first keeps going', async () => {
    const data = path.join(dir, 'data-lock');
    const first = createApp({ dataDir: data, models, log: () => {} });
    try {
      expect(() => createApp({ dataDir: data, models, log: () => {} })).toThrow(new RegExp(`${data} is in use by another CLaSp Studio process \\(pid ${process.pid}\\)`));
      expect(first.store.isOpen).toBe(true);
    } finally {
      await first.close();
    }
    expect(fs.existsSync(path.join(data, LOCK_FILE))).toBe(false);
    const again = createApp({ dataDir: data, models, log: () => {} });
    await again.close();
  });

  it('a lock left by a process that is gone is taken over', async () => {
    const data = path.join(dir, 'data-stale');
    fs.mkdirSync(data);
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    fs.writeFileSync(path.join(data, LOCK_FILE), `${gone}\n`);
    const a = createApp({ dataDir: data, models, log: () => {} });
    expect(fs.readFileSync(path.join(data, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    await a.close();
  });

  it('sessions.db is created private (0600)', async () => {
    if (process.platform === 'win32') return;
    const data = path.join(dir, 'data-mode');
    const a = createApp({ dataDir: data, models, log: () => {} });
    await a.app.invoke('conversations:create', {}); // a write: SQLite creates its -wal file
    expect(fs.existsSync(path.join(data, `${DB_FILE}-wal`))).toBe(true);
    for (const f of [DB_FILE, `${DB_FILE}-wal`]) {
      const p = path.join(data, f);
      if (fs.existsSync(p)) expect((fs.statSync(p).mode & 0o777).toString(8), f).toBe('600');
    }
    expect(fs.existsSync(path.join(data, DB_FILE))).toBe(true);
    await a.close();
  });

  it('a folder where sessions.db should be: the error names the path', () => {
    const data = path.join(dir, 'data-dir');
    fs.mkdirSync(path.join(data, DB_FILE), { recursive: true });
    expect(() => createApp({ dataDir: data, models, log: () => {} })).toThrow(path.join(data, DB_FILE));
    expect(fs.existsSync(path.join(data, LOCK_FILE))).toBe(false); // released again
  });
});

describe('the model catalogue (the app’s model list and /v1/models)', () => {
  it('a model picked in the app is remembered: listed first as recent, and loaded again when none is', async () => {
    const demo = path.join(modelsDir, 'demo.gguf');
    const other = path.join(modelsDir, 'other.gguf');
    const list = async () => (await app.call('models:list', {})) as ResponseOf<'models:list'>;
    try {
      expect((await list())[0]).toMatchObject({ path: demo, loaded: true, recent: false });
      await app.call('models:load', { path: other });
      await app.call('models:load', { path: demo });
      const picked = await list();
      expect(picked.slice(0, 2).map((m) => [path.basename(m.path), m.loaded, m.recent])).toEqual([
        ['demo.gguf', true, true],
        ['other.gguf', false, true],
      ]);
      // each model once; the bundled one and the rest of the folder after the recent ones
      expect(new Set(picked.map((m) => m.path)).size).toBe(picked.length);
      expect(picked.slice(2).every((m) => !m.recent)).toBe(true);
      expect(picked.some((m) => m.name === 'clasp-demo-29M (bundled)')).toBe(true);
      // the OpenAI server's catalogue is the same one, without the app's memory: nothing is recent
      expect(models.catalogue().map((m) => m.path)).toEqual(expect.arrayContaining([demo, other]));
      expect(models.catalogue().some((m) => m.recent)).toBe(false);

      // a remembered model that is gone (a dangling link) is left out
      store.setSetting('recentModels', [path.join(modelsDir, 'dangling.gguf'), other]);
      expect((await list()).filter((m) => m.recent).map((m) => m.path)).toEqual([other]);

      // with no model loaded, the last one picked loads
      store.setSetting('lastModel', other);
      models.dispose();
      expect(models.current).toBeNull();
      expect((await models.ensure(store)).info.path).toBe(other);
    } finally {
      await models.load(demo);
    }
  });
});
