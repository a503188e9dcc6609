// `clasp serve` under a hostile local client: the UI token (no cookie; any matching credential), the
// Host allow-list when binding all interfaces, static files and odd paths, odd bodies, short error
// messages, Retry-After, --max-body on the UI API, lowercase bearer.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppService } from '../../src/app/AppService';
import { ModelManager } from '../../src/services/ModelManager';
import { ClaspServer } from '../../src/server/server';
import { createUiExtension } from '../../src/server/uiRoutes';
import { OpenAiApi } from '../../src/server/openai';
import { SessionStore } from '../../src/sessions/SessionStore';
import { DEMO_Q8 } from './helpers/engine';
import { expectOpenAiError, raw } from './server.harness';

let dir: string;
let staticDir: string;
let models: ModelManager;
let store: SessionStore;
const servers: ClaspServer[] = [];

async function start(opts: { host?: string; apiKey?: string; maxBodyBytes?: number; uiToken?: string } = {}) {
  const server = new ClaspServer({ models, host: opts.host, port: 0, staticDir, apiKey: opts.apiKey, uiToken: opts.uiToken, limits: opts.maxBodyBytes ? { maxBodyBytes: opts.maxBodyBytes } : undefined, log: () => {} });
  server.use(new OpenAiApi(server, { shutdownGraceMs: 500 }));
  server.use(createUiExtension(new AppService({ models, store, log: () => {} })));
  const { port } = await server.listen();
  servers.push(server);
  return { server, port, host: `127.0.0.1:${port}` };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-sec-'));
  staticDir = path.join(dir, 'web');
  fs.mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>studio</title>');
  fs.writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'top secret');
  fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(staticDir, 'assets', 'leak.js'));
  fs.symlinkSync(path.join(staticDir, 'index.html'), path.join(staticDir, 'assets', 'page.js'));
  models = new ModelManager({ backend: 'cpu', threads: 2, defaultModel: DEMO_Q8 });
  await models.ensure();
  store = new SessionStore({ file: path.join(dir, 'sessions.db') });
});

// Each test closes the servers it started: a server's close closes its app, which takes its listeners
// off the shared ModelManager. Kept open until afterAll, 11 apps at once set off Node's
// MaxListenersExceededWarning ("11 progress listeners added to [ModelManager]").
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const ev of ['progress', 'loaded', 'unloaded']) expect(models.listenerCount(ev), ev).toBe(0);
});

afterAll(async () => {
  store.close();
  models.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

const uiCall = (port: number, headers: Record<string, string>, query = '') =>
  raw(port, { method: 'POST', path: `/api/ui/call${query}`, headers, body: JSON.stringify({ channel: 'conversations:list', payload: {} }) });

describe('the UI token', () => {
  it('after a restart the new URL works, whatever an old launch left behind; no cookie is set', async () => {
    const first = await start({ uiToken: 'old-launch-token' });
    const page = await raw(first.port, { path: '/?token=old-launch-token' });
    expect(page.status).toBe(200);
    expect(page.headers['set-cookie']).toBeUndefined();
    const second = await start({ uiToken: 'new-launch-token' });
    // a browser still holding the previous launch's cookie, opening the new URL
    const r = await raw(second.port, { path: '/?token=new-launch-token', headers: { cookie: 'clasp_ui=old-launch-token' } });
    expect(r.status).toBe(200);
    expect(r.body).toContain('studio');
  });

  it('a cookie is no credential (cookies are not isolated by port); header and query are', async () => {
    const { port, server } = await start();
    expect((await uiCall(port, { cookie: `clasp_ui=${server.uiToken}` })).status).toBe(401);
    expect((await raw(port, { path: '/', headers: { cookie: `clasp_ui=${server.uiToken}` } })).status).toBe(401);
    expect((await uiCall(port, { 'x-clasp-token': server.uiToken })).status).toBe(200);
    expect((await uiCall(port, {}, `?token=${server.uiToken}`)).status).toBe(200);
    // any credential that matches: a stale header with the fresh query, or the other way round
    expect((await uiCall(port, { 'x-clasp-token': 'stale' }, `?token=${server.uiToken}`)).status).toBe(200);
    expect((await uiCall(port, { 'x-clasp-token': server.uiToken }, '?token=stale')).status).toBe(200);
    expect((await uiCall(port, { 'x-clasp-token': 'stale' }, '?token=stale')).status).toBe(401);
  });

  it('the page needs the token under every path that names it; assets do not', async () => {
    const { port, server } = await start();
    for (const p of ['/', '/index.html', '/index.html/', '/%69ndex.html', '/assets/../index.html', '/assets/page.js']) {
      const r = await raw(port, { path: p });
      expect(r.status, p).not.toBe(200);
      expect(r.body, p).not.toContain('studio');
    }
    expect((await raw(port, { path: `/index.html?token=${server.uiToken}` })).status).toBe(200);
    expect((await raw(port, { path: '/assets/app.js' })).status).toBe(200);
  });

  it('static files are checked after resolving symlinks', async () => {
    const { port, server } = await start();
    const r = await raw(port, { path: `/assets/leak.js?token=${server.uiToken}` });
    expect(r.status).toBe(404);
    expect(r.body).not.toContain('top secret');
  });
});

describe('Host allow-list', () => {
  it('binding all interfaces: loopback and this machine’s addresses only, never a foreign Host', async () => {
    const { port, server } = await start({ host: '0.0.0.0' });
    const foreign = await raw(port, { path: '/health', headers: { host: `evil.example:${port}` } });
    expectOpenAiError(foreign, 403, 'bad_host');
    // the attacker's page, naming its own host as both Host and Origin
    const rebinding = await uiCall(port, { host: `evil.example:${port}`, origin: `http://evil.example:${port}`, 'x-clasp-token': server.uiToken });
    expect(rebinding.status).toBe(403);
    expect((await raw(port, { path: '/health', headers: { host: `localhost:${port}` } })).status).toBe(200);
    const own = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
    if (own) expect((await raw(port, { path: '/health', headers: { host: `${own.address}:${port}` } })).status).toBe(200);
    expect(server.allowedHosts().has(`127.0.0.1:${port}`)).toBe(true);
  });
});

describe('odd requests are 400s with short messages', () => {
  it('a malformed % escape in the path', async () => {
    const { port } = await start();
    expectOpenAiError(await raw(port, { path: '/%E0%A4%A' }), 400, 'bad_path');
    expectOpenAiError(await raw(port, { path: '/v1/models/%E0%A4%A' }), 400, 'bad_path');
  });

  it('JSON nested 200k deep', async () => {
    const { port, server } = await start();
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    expectOpenAiError(await raw(port, { method: 'POST', path: '/v1/chat/completions', body: deep }), 400, 'too_deep');
    const r = await raw(port, { method: 'POST', path: '/api/ui/call', headers: { 'x-clasp-token': server.uiToken }, body: `{"channel":"conversations:list","payload":${deep}}` });
    expectOpenAiError(r, 400, 'too_deep');
  });

  it('a 5 MB input is never echoed back', async () => {
    const { port, server } = await start({ maxBodyBytes: 8 << 20 });
    const big = 'x'.repeat(5 << 20);
    const replies = [
      await raw(port, { method: 'POST', path: '/v1/chat/completions', body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], [big]: 1 }) }),
      await raw(port, { method: 'POST', path: '/v1/chat/completions', body: `{"model": ${big}` }),
      await raw(port, { method: 'POST', path: '/api/ui/call', headers: { 'x-clasp-token': server.uiToken }, body: JSON.stringify({ channel: 'conversations:create', payload: { title: big } }) }),
      await raw(port, { method: 'POST', path: '/api/ui/call', headers: { 'x-clasp-token': server.uiToken }, body: JSON.stringify({ channel: big, payload: {} }) }),
    ];
    for (const r of replies) {
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.body.length).toBeLessThan(4000);
    }
  });

  it('--max-body applies to the UI API too', async () => {
    const { port, server } = await start({ maxBodyBytes: 4096 });
    const body = JSON.stringify({ channel: 'trace:import', payload: { text: 'y'.repeat(8192) } });
    const r = await raw(port, { method: 'POST', path: '/api/ui/call', headers: { 'x-clasp-token': server.uiToken }, body });
    expectOpenAiError(r, 413, 'body_too_large');
  });
});

describe('API key and busy replies', () => {
  it('takes the bearer scheme in any case', async () => {
    const { port } = await start({ apiKey: 'k3y' });
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      expect((await raw(port, { path: '/v1/models', headers: { authorization: `${scheme} k3y` } })).status, scheme).toBe(200);
    }
    expect((await raw(port, { path: '/v1/models', headers: { authorization: 'bearer nope' } })).status).toBe(401);
  });
});
