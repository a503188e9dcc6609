// The Electron main process under a fake `electron` module (Electron's binary cannot run here): the
// IPC sender check, the app:// protocol handler, the navigation and window-open rules, openExternal,
// the app-wide sandbox, the spell-check dictionary download, and model discovery (the app is made with
// the other apps' model folders, so the picker lists them).
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { APP_ORIGIN, createAppProtocolHandler } from '../../src/main/appProtocol';
import { GESTURE_WINDOW_MS, GestureTracker, isAppUrl } from '../../src/main/security';
import type { CreateAppOptions } from '../../src/app/createApp';
import { ModelManager } from '../../src/services/ModelManager';
import { makeModelHome } from './helpers/modelFolders';

const fake = vi.hoisted(() => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { EventEmitter: Emitter } = require('node:events') as typeof import('node:events');
  const calls: string[] = [];
  class FakeWebContents extends Emitter {
    windowOpenHandler: ((d: { url: string; disposition: string }) => { action: string }) | null = null;
    sent: [string, unknown][] = [];
    setWindowOpenHandler(h: (d: { url: string; disposition: string }) => { action: string }) {
      this.windowOpenHandler = h;
    }
    send(channel: string, data: unknown) {
      this.sent.push([channel, data]);
    }
    isDestroyed() {
      return false;
    }
  }
  const windows: FakeBrowserWindow[] = [];
  class FakeBrowserWindow extends Emitter {
    static getAllWindows = () => windows;
    webContents = new FakeWebContents();
    loaded: string | null = null;
    constructor(readonly options: { webPreferences: Record<string, unknown> }) {
      super();
      windows.push(this);
    }
    loadURL(u: string) {
      this.loaded = u;
      return Promise.resolve();
    }
    isDestroyed() {
      return false;
    }
    setTitle() {}
    show() {}
    isMinimized() {
      return false;
    }
  }
  const app = Object.assign(new Emitter(), {
    enableSandbox: () => calls.push('enableSandbox'),
    requestSingleInstanceLock: () => true,
    whenReady: () => {
      calls.push('whenReady');
      return Promise.resolve();
    },
    getPath: () => os.tmpdir(),
    getAppPath: () => process.cwd(),
    quit: () => calls.push('quit'),
    exit: () => calls.push('exit'),
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const os = require('node:os') as typeof import('node:os');
  const handlers = new Map<string, (...a: unknown[]) => unknown>();
  const protocols = new Map<string, (req: Request) => Promise<Response>>();
  const opened: string[] = [];
  const sessionCalls: string[] = [];
  const session = {
    defaultSession: {
      webRequest: { onHeadersReceived: () => sessionCalls.push('onHeadersReceived') },
      setPermissionRequestHandler: () => sessionCalls.push('setPermissionRequestHandler'),
      setPermissionCheckHandler: () => sessionCalls.push('setPermissionCheckHandler'),
      setSpellCheckerEnabled: (on: boolean) => sessionCalls.push(`setSpellCheckerEnabled(${on})`),
    },
  };
  const createAppOptions: unknown[] = [];
  return {
    createAppOptions,
    calls,
    windows,
    handlers,
    protocols,
    opened,
    sessionCalls,
    module: {
      app,
      BrowserWindow: FakeBrowserWindow,
      dialog: {
        showErrorBox: () => undefined,
        showMessageBox: () => Promise.resolve(),
        showOpenDialog: () => Promise.resolve({ canceled: true, filePaths: [] }),
      },
      ipcMain: { handle: (ch: string, h: (...a: unknown[]) => unknown) => handlers.set(ch, h) },
      Menu: { buildFromTemplate: (t: unknown) => t, setApplicationMenu: () => undefined },
      protocol: {
        registerSchemesAsPrivileged: () => calls.push('registerSchemesAsPrivileged'),
        handle: (scheme: string, h: (req: Request) => Promise<Response>) => protocols.set(scheme, h),
      },
      session,
      shell: { openExternal: (u: string) => (opened.push(u), Promise.resolve()) },
    },
  };
});

vi.mock('electron', () => fake.module);
// The app itself is tested elsewhere; here it only answers calls.
vi.mock('../../src/app/createApp', () => ({
  createApp: (opts: unknown) => {
    fake.createAppOptions.push(opts);
    return {
      app: {
        call: async (channel: string, payload: unknown) => ({ channel, payload }),
        onReplyEvent: () => () => undefined,
        onModelEvent: () => () => undefined,
        onAppEvent: () => () => undefined,
        warmUp: () => undefined,
      },
      models: { current: null },
      close: async () => undefined,
    };
  },
}));

type Handler = (e: unknown, channel: unknown, payload: unknown) => Promise<{ ok: boolean; error?: { code: string } }>;
let win: (typeof fake.windows)[number];

// Where the other apps keep models, for this process: fixture folders under a temporary home.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-main-home-'));
const saved = { HOME: process.env.HOME, OLLAMA_MODELS: process.env.OLLAMA_MODELS, HF_HUB_CACHE: process.env.HF_HUB_CACHE, HF_HOME: process.env.HF_HOME };

beforeAll(async () => {
  delete process.env.ELECTRON_RENDERER_URL;
  makeModelHome(home);
  process.env.HOME = home;
  for (const k of ['OLLAMA_MODELS', 'HF_HUB_CACHE', 'HF_HOME'] as const) delete process.env[k];
  await import('../../src/main/index');
  for (let i = 0; i < 20 && fake.windows.length === 0; i++) await new Promise((r) => setImmediate(r));
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  win = fake.windows[0]!;
  expect(win).toBeDefined();
});

afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

const frame = (url: string, parent: unknown = null) => ({ url, parent });

describe('IPC sender check', () => {
  it('accepts the packaged app’s own top frame (app://studio, whose Node origin is "null")', async () => {
    expect(new URL(`${APP_ORIGIN}/index.html`).origin).toBe('null'); // why origins cannot be compared
    const call = fake.handlers.get('clasp:call') as Handler;
    expect(call).toBeTypeOf('function');
    const r = await call({ sender: win.webContents, senderFrame: frame(`${APP_ORIGIN}/index.html#bench`) }, 'conversations:list', {});
    expect(r).toEqual({ ok: true, result: { channel: 'conversations:list', payload: {} } });
  });

  it('refuses other hosts and schemes, subframes and other windows', async () => {
    const call = fake.handlers.get('clasp:call') as Handler;
    const refused = [
      { sender: win.webContents, senderFrame: frame('app://evil/index.html') },
      { sender: win.webContents, senderFrame: frame('https://studio/index.html') },
      { sender: win.webContents, senderFrame: frame('file:///index.html') },
      { sender: win.webContents, senderFrame: frame(`${APP_ORIGIN}/index.html`, {}) },
      { sender: new EventEmitter(), senderFrame: frame(`${APP_ORIGIN}/index.html`) },
      { sender: win.webContents, senderFrame: null },
    ];
    for (const e of refused) {
      const r = await call(e, 'conversations:list', {});
      expect(r.ok).toBe(false);
      expect(r.error?.code).toBe('forbidden');
    }
  });

  it('isAppUrl compares protocol and host (and port, in dev)', () => {
    expect(isAppUrl('app://studio/assets/x.js', APP_ORIGIN)).toBe(true);
    expect(isAppUrl('app://studio.evil/x', APP_ORIGIN)).toBe(false);
    expect(isAppUrl('http://localhost:5173/', 'http://localhost:5173')).toBe(true);
    expect(isAppUrl('http://localhost:5174/', 'http://localhost:5173')).toBe(false);
    expect(isAppUrl('not a url', APP_ORIGIN)).toBe(false);
  });
});

describe('start-up', () => {
  it('sandboxes every renderer before the app is ready, and loads the app over app://', () => {
    expect(fake.calls.indexOf('enableSandbox')).toBeGreaterThanOrEqual(0);
    expect(fake.calls.indexOf('enableSandbox')).toBeLessThan(fake.calls.indexOf('whenReady'));
    const prefs = win.options.webPreferences;
    expect(prefs).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, webSecurity: true, webviewTag: false });
    expect(win.loaded).toBe(`${APP_ORIGIN}/index.html`);
  });

  it('downloads no spell-check dictionaries (off where Chromium would fetch them)', () => {
    if (process.platform === 'darwin') return; // the OS checker: nothing to download
    expect(win.options.webPreferences.spellcheck).toBe(false);
    expect(fake.sessionCalls).toContain('setSpellCheckerEnabled(false)');
  });
});

describe('the models users already have', () => {
  it('the app is made with discovery on: its model list holds LM Studio’s, Ollama’s and the HF cache’s models', () => {
    expect(fake.createAppOptions.length).toBe(1);
    const opts = fake.createAppOptions[0] as CreateAppOptions;
    expect(opts.modelOptions?.discover).toMatchObject({ ollama: path.join(home, '.ollama/models'), hfCache: path.join(home, '.cache/huggingface/hub') });
    // what createApp makes of those options: the picker's list (models:list is catalogue())
    const list = new ModelManager(opts.modelOptions).catalogue();
    const byName = new Map(list.map((m) => [m.name, m]));
    expect(byName.get('llama3.2:1b')).toMatchObject({ source: 'ollama', arch: 'llama', quant: 'Q8_0', supported: true });
    expect(byName.get('lmstudio-community/Llama-3.2-1B-GGUF/Llama-3.2-1B-Q3_K_M')).toMatchObject({
      source: 'lmstudio',
      supported: false,
      reason: expect.stringMatching(/Q3_K_M weights/),
    });
    expect(byName.get('meta-llama/Llama-3.2-1B')).toMatchObject({ source: 'hf-cache', kind: 'hf' });
  });
});

describe('navigation and new windows', () => {
  const open = (url: string, disposition = 'foreground-tab') => win.webContents.windowOpenHandler!({ url, disposition });
  const navigate = (event: string, url: string) => {
    let prevented = false;
    win.webContents.emit(event, { preventDefault: () => (prevented = true) }, url);
    return prevented;
  };

  it('a navigation away from the app is stopped and opens nothing', () => {
    fake.opened.length = 0;
    expect(navigate('will-navigate', 'https://example.com/')).toBe(true);
    expect(navigate('will-redirect', 'https://example.com/')).toBe(true);
    expect(navigate('will-navigate', 'app://evil/index.html')).toBe(true);
    expect(navigate('will-navigate', `${APP_ORIGIN}/index.html#bench`)).toBe(false);
    expect(fake.opened).toEqual([]);
  });

  it('new windows are denied; an http(s) link opens in the browser only right after a click', () => {
    fake.opened.length = 0;
    expect(open('https://example.com/a')).toEqual({ action: 'deny' }); // no click yet
    expect(fake.opened).toEqual([]);
    win.webContents.emit('input-event', {}, { type: 'mouseMove' });
    open('https://example.com/b');
    expect(fake.opened).toEqual([]);
    win.webContents.emit('input-event', {}, { type: 'mouseUp' });
    expect(open('https://example.com/c')).toEqual({ action: 'deny' });
    for (const u of ['file:///etc/passwd', 'javascript:alert(1)', 'mailto:a@b.c', 'app://studio/x', 'smb://host/share']) open(u);
    expect(fake.opened).toEqual(['https://example.com/c']);
  });

  it('a click counts for a short while only', () => {
    let now = 1000;
    const g = new GestureTracker(() => now);
    expect(g.recent()).toBe(false);
    g.note('keyDown');
    now += GESTURE_WINDOW_MS;
    expect(g.recent()).toBe(true);
    now += 1;
    expect(g.recent()).toBe(false);
  });
});

describe('app:// protocol', () => {
  let dir: string;
  let handler: (req: Request) => Promise<Response>;
  const CSP = "default-src 'self'";
  const get = (p: string) => handler(new Request(`${APP_ORIGIN}${p}`));

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-app-proto-'));
    fs.mkdirSync(path.join(dir, 'renderer', 'assets'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'renderer', 'index.html'), '<!doctype html><title>x</title>');
    fs.writeFileSync(path.join(dir, 'renderer', 'assets', 'app.js'), 'console.log(1)');
    fs.writeFileSync(path.join(dir, 'renderer', 'assets', 'app.css'), 'body{}');
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'secret');
    fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(dir, 'renderer', 'assets', 'link.js'));
    handler = createAppProtocolHandler(path.join(dir, 'renderer'), CSP);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('serves the renderer’s files with their MIME type, the CSP and nosniff', async () => {
    for (const [p, type] of [
      ['/', 'text/html'],
      ['/index.html', 'text/html'],
      ['/assets/app.js', 'text/javascript'],
      ['/assets/app.css', 'text/css'],
    ] as const) {
      const r = await get(p);
      expect(r.status, p).toBe(200);
      expect(r.headers.get('content-type')).toContain(type);
      expect(r.headers.get('content-security-policy')).toBe(CSP);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect(await (await get('/assets/app.js')).text()).toBe('console.log(1)');
  });

  it('serves nothing outside the folder: traversal, symlinks out, folders, other hosts, bad escapes', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets/link.js', '/assets', '/nope.js', '/%00']) {
      const r = await get(p);
      expect(r.status, p).toBe(404);
      expect(await r.text()).not.toContain('secret');
    }
    expect((await handler(new Request('app://other/index.html'))).status).toBe(404);
    expect((await get('/%E0%A4%A')).status).toBe(400);
  });

  it('the main process registers it for app://', async () => {
    const h = fake.protocols.get('app');
    expect(h).toBeTypeOf('function');
    const r = await h!(new Request(`${APP_ORIGIN}/index.html`));
    expect(r.status).toBe(200); // src/renderer/index.html, next to src/main under test
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
  });
});
