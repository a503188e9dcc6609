// Starts the app for the browser tests: `clasp serve` on the demo model on a free port, with its
// data in a temp folder, and headless Chromium. While `clasp serve` does not yet mount the UI API,
// the same server is assembled in-process (ClaspServer + createApp + createUiExtension).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '..', '..');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_HINT = `headless Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`;

/** True when the UI suite cannot run here and may be skipped: no Chromium, and not CI (CI=true must run it). */
export const SKIP_UI_SUITE = !fs.existsSync(CHROMIUM) && process.env.CI !== 'true' && process.env.CI !== '1';

export function chromiumPath(): string {
  if (!fs.existsSync(CHROMIUM)) throw new Error(CHROMIUM_HINT);
  return CHROMIUM;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
}

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

/** Builds the renderer when out/renderer is missing or older than its sources. */
export function ensureWebBuild(): void {
  const index = path.join(ROOT, 'out', 'renderer', 'index.html');
  const srcNewest = Math.max(newestMtime(path.join(ROOT, 'src', 'renderer')), newestMtime(path.join(ROOT, 'src', 'shared')));
  if (fs.existsSync(index) && fs.statSync(index).mtimeMs >= srcNewest) return;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`npm run build:web failed:\n${r.stdout}\n${r.stderr}`);
}

/** A models folder with two demo models, so the picker has something to switch to. */
export function makeModelsDir(into: string): string {
  const dir = path.join(into, 'models');
  fs.mkdirSync(dir, { recursive: true });
  const bundled = path.join(ROOT, 'resources', 'clasp-demo-29M-q8_0.gguf');
  fs.copyFileSync(bundled, path.join(dir, 'clasp-demo-29M-q8_0.gguf'));
  const f16 = path.join(process.env.CLASP_MODELS_DIR ?? path.resolve(ROOT, '..', 'shared', 'models'), 'clasp-demo-29M.gguf');
  // The F16 file when the reference models are here; otherwise a second copy under another name.
  if (fs.existsSync(f16)) fs.copyFileSync(f16, path.join(dir, 'clasp-demo-29M-f16.gguf'));
  else fs.copyFileSync(bundled, path.join(dir, 'clasp-demo-29M-copy.gguf'));
  return dir;
}

export interface Studio {
  uiUrl: string;
  origin: string;
  dataDir: string;
  modelsDir: string;
  how: 'clasp serve' | 'in-process';
  close(): Promise<void>;
}

function serveMountsUi(): boolean {
  const f = path.join(ROOT, 'dist', 'cli', 'serve.js');
  return fs.existsSync(f) && /createUiExtension/.test(fs.readFileSync(f, 'utf8'));
}

/** The environment the server sees: with `home`, the other apps' model folders are looked for there only. */
function serverEnv(dataDir: string, home?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CLASP_DATA_DIR: dataDir };
  if (home) {
    env.HOME = home;
    for (const k of ['OLLAMA_MODELS', 'HF_HUB_CACHE', 'HF_HOME']) delete env[k];
  }
  return env;
}

async function startCli(tmp: string, modelsDir: string, dataDir: string, home?: string): Promise<Studio> {
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(ROOT, 'bin', 'clasp.js'), 'serve', '--port', '0', '--threads', '2', '--models-dir', modelsDir, '--model', path.join(modelsDir, 'clasp-demo-29M-q8_0.gguf')],
    { cwd: ROOT, env: serverEnv(dataDir, home), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const uiUrl = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`clasp serve printed no UI URL in 60 s\n${out}\n${err}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /UI:\s+(\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`clasp serve exited (${code})\n${out}\n${err}`)));
  });
  return {
    uiUrl,
    origin: new URL(uiUrl).origin,
    dataDir,
    modelsDir,
    how: 'clasp serve',
    async close() {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 8000);
        await done;
        clearTimeout(t);
      }
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

async function startInProcess(tmp: string, modelsDir: string, dataDir: string, home?: string): Promise<Studio> {
  const { ModelManager } = await import('../../src/services/ModelManager');
  const { ClaspServer } = await import('../../src/server/server');
  const { createApp } = await import('../../src/app/createApp');
  const { createUiExtension } = await import('../../src/server/uiRoutes');
  const { defaultRoots } = await import('../../src/services/modelDiscovery');
  const discover = home ? defaultRoots({}, home) : defaultRoots();
  const models = new ModelManager({ threads: 2, modelsDir, defaultModel: path.join(modelsDir, 'clasp-demo-29M-q8_0.gguf'), discover });
  await models.ensure();
  const app = createApp({ dataDir, models, log: () => undefined });
  const server = new ClaspServer({ models, port: 0, staticDir: path.join(ROOT, 'out', 'renderer') });
  server.use(createUiExtension(app.app));
  const { uiUrl } = await server.listen();
  return {
    uiUrl,
    origin: new URL(uiUrl).origin,
    dataDir,
    modelsDir,
    how: 'in-process',
    async close() {
      await server.close();
      await app.close();
      models.dispose();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the studio on a models folder with two demo models. `home`: the folder the server takes for
 * the user's home, where model discovery looks for LM Studio's, Ollama's and the HF cache's folders
 * (absent: the real home, as `clasp serve` does).
 */
export async function startStudio(opts: { home?: string } = {}): Promise<Studio> {
  ensureWebBuild();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-e2e-'));
  const modelsDir = makeModelsDir(tmp);
  const dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir);
  return serveMountsUi() ? startCli(tmp, modelsDir, dataDir, opts.home) : startInProcess(tmp, modelsDir, dataDir, opts.home);
}

/**
 * The demo model's longest greedy reply takes a fraction of a second, which a busy machine can spend
 * between clicking Send and clicking Stop. So an API client holds the engine first (1000 tokens past
 * end of text, the most the demo's 1024-token context allows): a chat reply sent meanwhile waits in
 * the queue behind it, a reply being written all the same. The hold is bounded (about a second on a
 * quiet fast machine), so the steps that need it are few and come first, without screenshots. The
 * returned function lets go.
 */
export async function holdEngine(studio: Studio): Promise<() => Promise<void>> {
  const holder = new AbortController();
  const held = await fetch(`${studio.origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Count.' }], max_tokens: 1000, stream: true, clasp: { ignore_eos: true, mode: 'ar' } }),
    signal: holder.signal,
  });
  if (held.status !== 200) throw new Error(`holding the engine: HTTP ${held.status} ${await held.text()}`);
  const reader = held.body!.getReader();
  await reader.read(); // the first chunk: the engine is generating for the API client
  return async () => {
    holder.abort();
    await reader.closed.catch(() => undefined);
  };
}

/** The selector of an element by its data-testid (docs/UI.md). */
export const id = (t: string) => `[data-testid="${t}"]`;

/** A started studio with one Chromium page on it: what every e2e file's beforeAll makes. */
export interface StudioPage {
  studio: Studio;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** uncaught errors in the page; each file ends by checking it is empty */
  pageErrors: string[];
  close(): Promise<void>;
}

/**
 * Starts the studio (startStudio) and opens a page at the given size and colour scheme (default
 * 1400×900, light), collecting the page's uncaught errors. Makes test-artifacts/ for screenshots.
 */
export async function openStudioPage(
  opts: { home?: string; viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark'; acceptDownloads?: boolean } = {},
): Promise<StudioPage> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const studio = await startStudio({ home: opts.home });
  let browser: Browser;
  try {
    browser = await launchBrowser();
  } catch (e) {
    await studio.close();
    throw e;
  }
  const context = await browser.newContext({
    viewport: opts.viewport ?? { width: 1400, height: 900 },
    colorScheme: opts.colorScheme ?? 'light',
    acceptDownloads: opts.acceptDownloads ?? false,
  });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return {
    studio,
    browser,
    context,
    page,
    pageErrors,
    async close() {
      await browser.close();
      await studio.close();
    },
  };
}

/**
 * Waits until there are more than `before` replies, the last one has finished and the Stop button has
 * gone; returns the last reply. On a timeout the error says what the page showed (the replies, the
 * last one's status, any alert), and `shotOnTimeout` names a screenshot to take of it.
 */
export async function replyAfter(page: Page, before: number, opts: { timeout?: number; shotOnTimeout?: string } = {}): Promise<Locator> {
  const timeout = opts.timeout ?? 90_000;
  await page
    .waitForFunction(
      ([sel, n]) => {
        const all = document.querySelectorAll(sel as string);
        const last = all[all.length - 1] as HTMLElement | undefined;
        return all.length > (n as number) && !!last && last.dataset.status !== 'streaming';
      },
      [id('message-assistant'), before] as const,
      { timeout },
    )
    .catch(async (e: unknown) => {
      if (opts.shotOnTimeout) await page.screenshot({ path: path.join(ARTIFACTS, opts.shotOnTimeout) }).catch(() => undefined);
      const state = await page.evaluate((sel) => {
        const all = document.querySelectorAll(sel);
        const last = all[all.length - 1] as HTMLElement | undefined;
        const banner = document.querySelector('[role="alert"]')?.textContent ?? '';
        return `${all.length} replies; last: ${last?.dataset.status ?? 'none'}; alert: ${banner.slice(0, 300)}`;
      }, id('message-assistant'));
      throw new Error(`${String(e)}\n(waiting for reply ${before + 1}) ${state}`);
    });
  await page.locator(id('stop')).waitFor({ state: 'detached', timeout });
  return page.locator(id('message-assistant')).last();
}

/** Sends a message, waits for its reply to finish and the Stop button to go; returns the reply's locator. */
export async function sendAndWait(page: Page, text: string, opts: { timeout?: number; shotOnTimeout?: string } = {}): Promise<Locator> {
  const before = await page.locator(id('message-assistant')).count();
  await page.locator(id('chat-input')).fill(text);
  await page.locator(id('send')).click();
  return replyAfter(page, before, opts);
}

/**
 * The answer to the page's next UI call on `channel` (docs/API.md) whose request body contains
 * `bodyHas` (when given: an earlier call's late answer is not this one). Made before the action that
 * calls it, awaited before a reload: a reload can cancel a save that was not yet sent.
 */
export function uiCallDone(page: Page, channel: string, bodyHas = '', timeout = 30_000): Promise<unknown> {
  return page.waitForResponse(
    (r) => {
      if (!r.url().endsWith('/api/ui/call')) return false;
      const body = r.request().postData() ?? '';
      try {
        return (JSON.parse(body) as { channel?: string }).channel === channel && body.includes(bodyHas);
      } catch {
        return false;
      }
    },
    { timeout },
  );
}

/**
 * Records, from now on, whether `sel` ever matches (a MutationObserver: a state that lasts less than
 * a poll, on a fast machine, is still seen). Install it before the action; the function says.
 */
export async function watchFor(page: Page, sel: string): Promise<() => Promise<boolean>> {
  const key = `__seen_${Math.random().toString(36).slice(2)}`;
  await page.evaluate(
    ([s, k]) => {
      const w = window as unknown as Record<string, boolean>;
      w[k] = !!document.querySelector(s);
      const obs = new MutationObserver(() => {
        if (!document.querySelector(s)) return;
        w[k] = true;
        obs.disconnect();
      });
      obs.observe(document.body, { subtree: true, childList: true, attributes: true });
    },
    [sel, key] as const,
  );
  return () => page.evaluate((k) => (window as unknown as Record<string, boolean>)[k] === true, key);
}

/**
 * Waits until the conversation ends with a reply other than `oldId` (regenerate, edit & resend and
 * "try it anyway" replace it) and that reply has finished; returns it. Read `oldId` before the click.
 * Waiting for the Stop button alone could end before the new reply started.
 */
export async function replyReplacing(page: Page, oldId: string | null, timeout = 90_000): Promise<Locator> {
  await page.waitForFunction(
    ([sel, old]) => {
      const all = document.querySelectorAll(sel as string);
      const last = all[all.length - 1] as HTMLElement | undefined;
      // the last message, not the last reply: while the old reply is gone, an earlier turn's is last
      return last?.dataset.testid === 'message-assistant' && last.dataset.id !== old && last.dataset.status !== 'streaming';
    },
    [`${id('message-user')}, ${id('message-assistant')}`, oldId] as const,
    { timeout },
  );
  await page.locator(id('stop')).waitFor({ state: 'detached', timeout });
  return page.locator(id('message-assistant')).last();
}
