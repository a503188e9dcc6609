// "Open model…" in a real browser (`clasp serve` on the demo model, headless Chromium), with the
// server's home pointed at fixture folders laid out like LM Studio's, Ollama's and the Hugging Face
// cache (test/node/helpers/modelFolders.ts): the dialog lists only the allowed folders, shows each
// model's architecture, quantisation and size and why one cannot load, refuses paths outside (a
// link leading out too) on the server, and loads the model picked. Screenshots (light, dark,
// 1000×800) go to test-artifacts/open-model-*.png.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { makeModelHome, snapshot, type ModelHome } from '../node/helpers/modelFolders';
import { ARTIFACTS, id, sendAndWait, SKIP_UI_SUITE, type Studio, openStudioPage, type StudioPage } from './harness';

let tmp: string;
let fx: ModelHome;
let before: string[];
let studio: Studio;
let ui: StudioPage | undefined;
let page: Page;
let pageErrors: string[] = [];

const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `open-model-${name}.png`) });
const entry = (name: string) => page.locator(`${id('model-browser-entry')}[data-name="${name}"]`);
const names = () => page.locator(id('model-browser-entry')).evaluateAll((els) => els.map((e) => e.getAttribute('data-name')));

/** Opens a folder or model row and waits for the listing it leads to. */
async function openEntry(name: string) {
  await entry(name).click();
  await page.locator(`${id('model-browser')}[data-loading="no"]`).waitFor();
}

/** A models:browse call as the page makes it (its UI token), for what the dialog never sends. */
function browse(p: string) {
  return page.evaluate(async (dir) => {
    const token = sessionStorage.getItem('clasp-ui-token') ?? '';
    const r = await fetch('/api/ui/call', { method: 'POST', headers: { 'content-type': 'application/json', 'x-clasp-token': token }, body: JSON.stringify({ channel: 'models:browse', payload: { path: dir } }) });
    return { status: r.status, body: (await r.json()) as { error?: { message: string } } };
  }, p);
}

beforeAll(async () => {
  if (SKIP_UI_SUITE) return; // scripts/test.js names the suite as skipped, with the install hint
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-e2e-home-'));
  const home = path.join(tmp, 'home');
  fx = makeModelHome(home);
  fs.mkdirSync(path.join(tmp, 'outside'));
  fs.symlinkSync(path.join(tmp, 'outside'), path.join(fx.lmStudio, 'escape'));
  before = snapshot(home);
  ui = await openStudioPage({ home });
  ({ studio, page, pageErrors } = ui);
}, 180_000);

afterAll(async () => {
  await ui?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(SKIP_UI_SUITE)('Open model… in the browser (issue 13)', { timeout: 180_000 }, () => {
  it('starts at the allowed folders: --models-dir, LM Studio, Ollama, the Hugging Face cache', async () => {
    await page.goto(studio.uiUrl);
    await page.locator(id('chat-input')).waitFor();
    await page.locator(id('theme-light')).click();
    await page.locator(id('open-model')).click();
    await page.locator(`${id('model-browser')}[data-loading="no"]`).waitFor();
    expect(await page.locator(id('model-browser-path')).innerText()).toBe('Allowed folders');
    expect(await names()).toEqual(['Models folder', 'LM Studio', 'Ollama', 'Hugging Face cache']);
    expect(await page.locator(id('model-browser-up')).isDisabled()).toBe(true);
  });

  it('shows architecture, quantisation and size, and why a model cannot load', async () => {
    await openEntry('LM Studio');
    expect(await page.locator(id('model-browser-path')).innerText()).toBe('LM Studio');
    expect(await names()).toEqual(['clasp', 'escape', 'lmstudio-community', 'qwen']);
    // the link leading out is listed as such and cannot be opened
    expect(await entry('escape').isDisabled()).toBe(true);
    expect(await entry('escape').innerText()).toContain('a link to a place outside the allowed folders');
    await openEntry('lmstudio-community');
    await openEntry('Llama-3.2-1B-GGUF');
    expect(await page.locator(id('model-browser-path')).innerText()).toBe('LM Studio / lmstudio-community / Llama-3.2-1B-GGUF');
    const q8 = entry('Llama-3.2-1B-Q8_0.gguf');
    expect(await q8.getAttribute('data-supported')).toBe('yes');
    expect(await q8.innerText()).toMatch(/llama · Q8_0 · 1(\.\d)? KB/);
    const q3 = entry('Llama-3.2-1B-Q3_K_M.gguf');
    expect(await q3.isDisabled()).toBe(true);
    expect(await q3.locator(id('model-browser-reason')).innerText()).toMatch(/^Cannot open: Q3_K_M weights: this engine runs F32, F16, BF16, Q8_0/);
    await shot('light');
    await page.locator(id('theme-dark')).dispatchEvent('click'); // the dialog's backdrop covers the switch
    await shot('dark');
    await page.locator(id('model-browser-up')).click();
    await page.locator(id('model-browser-up')).click();
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'LM Studio', id('model-browser-path'));
    await openEntry('qwen');
    await openEntry('Qwen2-GGUF');
    expect(await entry('qwen2-f16.gguf').innerText()).toMatch(/qwen2 · F16[\s\S]*Cannot open: architecture qwen2: this engine runs Llama models only/);
  });

  it('lists Ollama’s models by name and the HF cache’s by repository', async () => {
    await page.locator(id('model-browser-up')).click();
    await page.locator(id('model-browser-up')).click();
    await page.locator(id('model-browser-up')).click();
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Allowed folders', id('model-browser-path'));
    await openEntry('Ollama');
    expect(await names()).toEqual(['llama3.2:1b']);
    expect(await entry('llama3.2:1b').innerText()).toMatch(/llama · Q8_0 · \d+(\.\d)? MB/);
    await page.locator(id('model-browser-up')).click();
    await openEntry('Hugging Face cache');
    expect(await entry('meta-llama/Llama-3.2-1B').innerText()).toMatch(/llama · BF16 · 2(\.\d)? KB/);
    expect(await entry('someone/Llama-AWQ').innerText()).toMatch(/Cannot open: quantised safetensors/);
    await page.setViewportSize({ width: 1000, height: 800 });
    await shot('narrow-dark');
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  it('the server refuses paths outside the allowed folders, a link leading out and a bad path, with one line', async () => {
    for (const [p, re] of [
      ['/etc', /^\/etc: outside the allowed folders \(/],
      [path.join(fx.lmStudio, 'escape'), /: a link that leads outside the allowed folders$/],
      [path.join(fx.lmStudio, '..', '..', '..', 'outside'), /outside the allowed folders/],
      ['relative/dir', /not an absolute path/],
    ] as const) {
      const r = await browse(p);
      expect(r.status, p).toBe(400);
      expect(r.body.error?.message, p).toMatch(re);
    }
    expect((await browse(path.join(fx.ollama, 'gone'))).status).toBe(404);
  });

  it('Esc closes the dialog; the model picked loads and answers', async () => {
    await page.keyboard.press('Escape');
    await page.locator(id('model-browser')).waitFor({ state: 'detached' });
    await page.locator(id('open-model')).click();
    await openEntry('LM Studio');
    await openEntry('clasp');
    await openEntry('clasp-demo-GGUF');
    expect(await entry('clasp-demo-29M-q8_0.gguf').innerText()).toMatch(/llama · Q8_0 · \d+(\.\d)? MB/);
    await entry('clasp-demo-29M-q8_0.gguf').click();
    await page.locator(id('model-browser')).waitFor({ state: 'detached' });
    await page.waitForFunction(
      ([sel, want]) => (document.querySelector(sel as string) as HTMLSelectElement | null)?.value === want && !(document.querySelector(sel as string) as HTMLSelectElement).disabled,
      [id('model-picker'), fx.lmStudioDemo] as const,
      { timeout: 60_000 },
    );
    expect(await page.locator(id('error-banner')).count()).toBe(0);
    const reply = await sendAndWait(page, 'Count from 1 to 5.');
    expect(await reply.getAttribute('data-status')).toBe('complete');
  });

  it('wrote nothing in those folders and raised no page errors', () => {
    expect(snapshot(path.dirname(fx.modelsDir))).toEqual(before);
    expect(pageErrors).toEqual([]);
  });
});
