// The Electron main process: window, menu, IPC and security glue only. Everything the app does is in
// AppService (src/app/), which `clasp serve` and the tests use too.
//
// Security: context isolation, the sandbox and web security on, no Node in the renderer; a strict
// CSP on every response; no new windows, no navigation away from the app (an http(s) link the user
// clicks opens in the system browser); one IPC channel whose requests AppService validates; the renderer is served
// from a privileged app:// scheme in production (not file://) so the CSP header applies.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, shell, type IpcMainInvokeEvent, type MenuItemConstructorOptions } from 'electron';
import { ApiError } from '../app/apiErrors';
import { createApp, type ClaspApp } from '../app/createApp';
import { defaultRoots } from '../services/modelDiscovery';
import { IPC, type ExportedFile, type IpcResult } from '../shared/api';
import { APP_ORIGIN, APP_SCHEME, createAppProtocolHandler } from './appProtocol';
import { externalUrl, GestureTracker, installNavigationRules, isAppUrl as isOnOrigin, isTrustedSender } from './security';

const DEV_URL = process.env.ELECTRON_RENDERER_URL; // set by `electron-vite dev`
const RENDERER_DIR = path.join(__dirname, '..', 'renderer');

// Our scripts and styles only; connections to our own origin (and the dev server's HMR socket in dev).
const CSP = DEV_URL
  ? `default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws://localhost:* ws://127.0.0.1:*; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'`
  : `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'`;

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
// Every renderer sandboxed, whatever a window's webPreferences say (must come before 'ready').
app.enableSandbox();

let clasp: ClaspApp | null = null;
let win: BrowserWindow | null = null;
let quitting = false;

function appOrigin(): string {
  return DEV_URL ? new URL(DEV_URL).origin : APP_ORIGIN;
}

function isAppUrl(u: string): boolean {
  return isOnOrigin(u, appOrigin());
}

function openExternal(u: string): void {
  const url = externalUrl(u);
  if (url) void shell.openExternal(url);
}

/** better-sqlite3 built for Electron (scripts/build-electron-sqlite.js); the Node build cannot load here. */
function sqliteBinding(): string | undefined {
  const candidates = [
    path.join(app.getAppPath(), 'build', 'electron-sqlite', 'better_sqlite3.node'),
    path.join(process.resourcesPath ?? '', 'electron-sqlite', 'better_sqlite3.node'),
  ];
  return candidates.find((p) => fs.existsSync(p));
}

/** app://studio/<path> -> a file of the built renderer, with the CSP header; nothing outside it. */
function serveRenderer(): void {
  protocol.handle(APP_SCHEME, createAppProtocolHandler(RENDERER_DIR, CSP));
}

function send(channel: string, data: unknown): void {
  if (win && !win.isDestroyed()) win.webContents.send(channel, data);
}

function setTitle(): void {
  const info = clasp?.models.current?.info;
  // The device indicator: which model, on which device (and why not the GPU, when it is not).
  const device = info ? ` — ${info.name} on ${info.deviceInfo}${info.backendReason ? ` (${info.backendReason})` : ''}` : '';
  win?.setTitle(`CLaSp Studio${device}`);
}

async function saveFile(file: ExportedFile): Promise<string | null> {
  const opts = { defaultPath: path.join(app.getPath('downloads'), file.filename) };
  const r = win ? await dialog.showSaveDialog(win, opts) : await dialog.showSaveDialog(opts);
  if (r.canceled || !r.filePath) return null;
  await fs.promises.writeFile(r.filePath, file.content ?? '', 'utf8');
  return r.filePath;
}

function trustedSender(e: IpcMainInvokeEvent): boolean {
  return !!win && !win.isDestroyed() && isTrustedSender(e, win.webContents, appOrigin());
}

async function onCall(e: IpcMainInvokeEvent, channel: unknown, payload: unknown): Promise<IpcResult> {
  if (!trustedSender(e)) return { ok: false, error: { message: 'IPC from an untrusted frame', code: 'forbidden', status: 403 } };
  if (!clasp) return { ok: false, error: { message: 'the app is not ready', code: 'unavailable', status: 503 } };
  try {
    return { ok: true, result: await clasp.app.call(channel, payload) };
  } catch (err) {
    const a = err instanceof ApiError ? err : new ApiError((err as Error).message ?? String(err), 'internal');
    return { ok: false, error: { message: a.message, code: a.code, status: a.status } };
  }
}

async function showError(title: string, e: unknown): Promise<void> {
  const message = e instanceof Error ? e.message : String(e);
  if (win) await dialog.showMessageBox(win, { type: 'error', title, message: title, detail: message });
  else dialog.showErrorBox(title, message);
}

async function openModel(): Promise<void> {
  if (!win || !clasp) return;
  const r = await dialog.showOpenDialog(win, {
    title: 'Open model',
    properties: ['openFile', 'openDirectory'],
    filters: [{ name: 'GGUF model', extensions: ['gguf'] }, { name: 'All files', extensions: ['*'] }],
    message: 'A .gguf file, or a Hugging Face folder (config.json + *.safetensors)',
  });
  if (r.canceled || !r.filePaths[0]) return;
  try {
    await clasp.app.call('models:load', { path: r.filePaths[0] });
  } catch (e) {
    await showError('The model could not be loaded', e); // (also sent to the renderer as a model event)
  }
}

async function importTrace(): Promise<void> {
  if (!win || !clasp) return;
  const r = await dialog.showOpenDialog(win, { title: 'Import trace', properties: ['openFile'], filters: [{ name: 'clasp-trace', extensions: ['json'] }] });
  const file = r.filePaths[0];
  if (r.canceled || !file) return;
  try {
    const st = await fs.promises.stat(file);
    if (st.size > 200 * 1024 * 1024) throw new Error(`${path.basename(file)} is larger than 200 MB`);
    const text = await fs.promises.readFile(file, 'utf8');
    await clasp.app.call('trace:import', { text }); // the renderer hears 'trace-imported' and opens it
  } catch (e) {
    await showError('The trace could not be imported', e);
  }
}

async function newChat(): Promise<void> {
  if (!clasp) return;
  try {
    const conversation = await clasp.app.invoke('conversations:create', {});
    clasp.app.emitApp({ type: 'conversation-created', conversation }); // the renderer selects it
  } catch (e) {
    await showError('Could not start a new chat', e);
  }
}

function buildMenu(): void {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'New Chat', accelerator: 'CmdOrCtrl+N', click: () => void newChat() },
        { label: 'Open Model…', accelerator: 'CmdOrCtrl+O', click: () => void openModel() },
        { label: 'Import Trace…', accelerator: 'CmdOrCtrl+I', click: () => void importTrace() },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit', label: 'Quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        ...(DEV_URL ? [{ role: 'reload' as const }, { role: 'toggleDevTools' as const }, { type: 'separator' as const }] : []),
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function createWindow(): void {
  win = new BrowserWindow({
    width: 1280,
    height: 860,
    minWidth: 800,
    minHeight: 560,
    title: 'CLaSp Studio',
    show: false,
    webPreferences: {
      preload: path.join(__dirname, '..', 'preload', 'index.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      // macOS checks spelling with the OS; elsewhere Chromium would download dictionaries from Google.
      spellcheck: process.platform === 'darwin',
    },
  });
  win.once('ready-to-show', () => win?.show());
  win.on('closed', () => (win = null));
  installNavigationRules(win.webContents, { appOrigin: appOrigin(), openExternal, gestures: new GestureTracker() });
  void win.loadURL(DEV_URL ?? `${APP_ORIGIN}/index.html`);
  setTitle();
}

function hardenSession(): void {
  const s = session.defaultSession;
  s.webRequest.onHeadersReceived((details, cb) => {
    const headers = { ...details.responseHeaders };
    if (isAppUrl(details.url)) headers['Content-Security-Policy'] = [CSP];
    cb({ responseHeaders: headers });
  });
  // No camera, microphone, notifications, geolocation, ...: the app needs none.
  s.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  s.setPermissionCheckHandler(() => false);
  // No spell-check dictionaries from the network (macOS uses the OS's own checker, nothing downloaded).
  if (process.platform !== 'darwin') s.setSpellCheckerEnabled(false);
}

async function start(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit(); // one instance owns the session database
    return;
  }
  app.on('second-instance', () => {
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  await app.whenReady();
  hardenSession();
  if (!DEV_URL) serveRenderer();

  const nativeBinding = sqliteBinding();
  try {
    // The model picker lists the models other apps keep (LM Studio, Ollama, the HF cache), read-only.
    clasp = createApp({ defaultDataDir: app.getPath('userData'), nativeBinding, host: { saveFile }, modelOptions: { discover: defaultRoots() } });
  } catch (e) {
    const hint = nativeBinding
      ? ''
      : '\n\nbetter-sqlite3 has no build for Electron yet: run `node scripts/build-electron-sqlite.js` (it needs the internet once).';
    dialog.showErrorBox('CLaSp Studio cannot open its session database', `${(e as Error).message}${hint}`);
    app.exit(1);
    return;
  }
  const c = clasp;
  c.app.onReplyEvent((e) => send(IPC.replyEvent, e));
  c.app.onModelEvent((e) => {
    send(IPC.modelEvent, e);
    if (e.type === 'loaded') setTitle();
  });
  c.app.onAppEvent((e) => send(IPC.appEvent, e));
  ipcMain.handle(IPC.call, onCall);

  buildMenu();
  createWindow();
  c.app.warmUp();

  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
}

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (e) => e.preventDefault());
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

// Stop replies (stored as 'cancelled') and close the database before quitting.
app.on('before-quit', (e) => {
  if (quitting || !clasp) return;
  e.preventDefault();
  quitting = true;
  const c = clasp;
  clasp = null;
  c.close()
    .catch(() => undefined)
    .finally(() => app.quit());
});

void start();
