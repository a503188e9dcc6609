// "Open model…" in the browser, server side (src/services/modelBrowser.ts through ModelManager and
// the app's `models:browse` channel), on fixture folders laid out like LM Studio's, Ollama's and the
// HF cache: only the allowed folders are listed, paths are checked as written and again with their
// links resolved, models show architecture, size and quantisation or why they cannot load, and
// nothing in those folders is written.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/app/apiErrors';
import { AppService } from '../../src/app/AppService';
import { BrowseError } from '../../src/services/modelBrowser';
import { defaultRoots } from '../../src/services/modelDiscovery';
import { ModelManager } from '../../src/services/ModelManager';
import { SessionStore } from '../../src/sessions/SessionStore';
import type { ModelFolder } from '../../src/shared/api';
import { makeModelHome, snapshot, type ModelHome } from './helpers/modelFolders';

let tmp: string;
let home: string;
let outside: string;
let fx: ModelHome;
let mm: ModelManager;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-browse-'));
  home = path.join(tmp, 'home');
  fx = makeModelHome(home);
  // Outside every allowed folder: a folder with a model in it, and links to it from inside.
  outside = path.join(tmp, 'outside');
  fs.mkdirSync(outside);
  fs.copyFileSync(fx.lmStudioDemo, path.join(outside, 'secret.gguf'));
  fs.symlinkSync(outside, path.join(fx.lmStudio, 'escape'));
  fs.symlinkSync(path.join(outside, 'secret.gguf'), path.join(fx.lmStudio, 'linked-out.gguf'));
  fs.symlinkSync(path.join(fx.lmStudio, 'clasp'), path.join(fx.lmStudio, 'shortcut')); // a link inside: followed
  fs.mkdirSync(path.join(fx.lmStudio, 'clasp/clasp-demo-GGUF/deeper/still'), { recursive: true });
  fs.copyFileSync(fx.lmStudioDemo, path.join(fx.lmStudio, 'clasp/clasp-demo-GGUF/deeper/still/deep.gguf'));
  mm = new ModelManager({ modelsDir: fx.modelsDir, discover: defaultRoots({}, home), threads: 2, backend: 'cpu' });
});

afterAll(() => {
  mm.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const names = (f: ModelFolder) => f.entries.map((e) => e.name);
const entry = (f: ModelFolder, name: string) => f.entries.find((e) => e.name === name)!;
function refused(p: string): BrowseError {
  try {
    mm.browse(p);
  } catch (e) {
    expect(e).toBeInstanceOf(BrowseError);
    return e as BrowseError;
  }
  throw new Error(`${p} was listed`);
}

describe('models:browse', () => {
  it('starts at the allowed folders: --models-dir and the other apps’ folders that exist', () => {
    const top = mm.browse();
    expect(top).toMatchObject({ path: null, label: null, parent: null });
    // ~/.cache/lm-studio/models does not exist here, so LM Studio appears once
    expect(top.entries).toEqual([
      { name: 'Models folder', path: fx.modelsDir, type: 'folder', bytes: 0 },
      { name: 'LM Studio', path: fx.lmStudio, type: 'folder', bytes: 0 },
      { name: 'Ollama', path: fx.ollama, type: 'folder', bytes: 0 },
      { name: 'Hugging Face cache', path: fx.hfCache, type: 'folder', bytes: 0 },
    ]);
  });

  it('lists folders, then models described from their headers, with the reason one cannot load', () => {
    const root = mm.browse(fx.lmStudio);
    expect(root).toMatchObject({ path: fx.lmStudio, label: 'LM Studio', parent: null, truncated: false });
    expect(names(root)).toEqual(['clasp', 'escape', 'lmstudio-community', 'qwen', 'shortcut', 'linked-out.gguf']);
    const repo = mm.browse(path.join(fx.lmStudio, 'lmstudio-community', 'Llama-3.2-1B-GGUF'));
    expect(repo.label).toBe('LM Studio / lmstudio-community / Llama-3.2-1B-GGUF');
    expect(repo.parent).toBe(path.join(fx.lmStudio, 'lmstudio-community'));
    expect(entry(repo, 'Llama-3.2-1B-Q8_0.gguf')).toMatchObject({ type: 'model', kind: 'gguf', arch: 'llama', quant: 'Q8_0', supported: true });
    expect(entry(repo, 'Llama-3.2-1B-Q8_0.gguf').bytes).toBeGreaterThan(1000);
    expect(entry(repo, 'Llama-3.2-1B-Q3_K_M.gguf')).toMatchObject({ quant: 'Q3_K_M', supported: false, reason: expect.stringMatching(/^Q3_K_M weights: this engine runs/) });
    expect(entry(mm.browse(path.join(fx.lmStudio, 'qwen', 'Qwen2-GGUF')), 'qwen2-f16.gguf')).toMatchObject({ arch: 'qwen2', supported: false, reason: expect.stringMatching(/Llama models only/) });
    expect(entry(mm.browse(fx.modelsDir), 'not-a-model.gguf')).toMatchObject({ supported: false, reason: expect.stringMatching(/not a readable GGUF file/) });
  });

  it('lists Ollama’s models by their manifest names and the HF cache’s by repository', () => {
    const ollama = mm.browse(fx.ollama);
    expect(names(ollama)).toEqual(['llama3.2:1b']);
    expect(ollama.entries[0]).toMatchObject({ type: 'model', arch: 'llama', quant: 'Q8_0', supported: true, path: expect.stringContaining(path.join('blobs', 'sha256-')) });
    const hf = mm.browse(fx.hfCache);
    expect(entry(hf, 'meta-llama/Llama-3.2-1B')).toMatchObject({ kind: 'hf', arch: 'llama', quant: 'BF16', supported: true, bytes: 2048 });
    expect(entry(hf, 'someone/Llama-AWQ')).toMatchObject({ supported: false, reason: expect.stringMatching(/quantised safetensors/) });
  });

  it('refuses paths outside the allowed folders the same way whether or not they exist', () => {
    for (const p of ['/etc', '/nonexistent/folder', tmp, path.join(fx.lmStudio, '..', '..', '..', 'outside'), `${fx.lmStudio}-other`]) {
      const e = refused(p);
      expect(e.code).toBe('bad_request');
      expect(e.message).toBe(`${path.resolve(p)}: outside the allowed folders (${fx.modelsDir}, ${fx.lmStudio}, ${fx.ollama}, ${fx.hfCache})`);
    }
    expect(refused('models/x').message).toBe('models/x: not an absolute path');
    expect(refused(`${fx.lmStudio}/\0x`).message).toMatch(/\\0x: not an absolute path/);
    expect(refused(path.join(fx.lmStudio, 'no-such'))).toMatchObject({ code: 'not_found', message: `${path.join(fx.lmStudio, 'no-such')}: no such folder` });
    expect(refused(fx.lmStudioDemo).message).toMatch(/: not a folder$/);
  });

  it('resolves links: one leading out is shown as such and never followed; one inside is', () => {
    const root = mm.browse(fx.lmStudio);
    expect(entry(root, 'escape')).toMatchObject({ type: 'folder', supported: false, reason: 'a link to a place outside the allowed folders' });
    expect(entry(root, 'linked-out.gguf')).toMatchObject({ type: 'model', supported: false, reason: 'a link to a place outside the allowed folders' });
    expect(entry(root, 'linked-out.gguf').arch).toBeUndefined(); // not even its header was read
    for (const p of [path.join(fx.lmStudio, 'escape'), path.join(fx.lmStudio, 'escape', 'sub')]) {
      expect(refused(p).message).toMatch(/a link that leads outside the allowed folders|no such folder/);
    }
    expect(refused(path.join(fx.lmStudio, 'escape')).message).toBe(`${path.join(fx.lmStudio, 'escape')}: a link that leads outside the allowed folders`);
    expect(names(mm.browse(path.join(fx.lmStudio, 'shortcut')))).toEqual(['clasp-demo-GGUF']);
  });

  it('loads what it lists (deeper than discovery looks too), and refuses links out and unsupported files', async () => {
    const deep = path.join(fx.lmStudio, 'clasp', 'clasp-demo-GGUF', 'deeper', 'still', 'deep.gguf');
    expect(entry(mm.browse(path.dirname(deep)), 'deep.gguf')).toMatchObject({ supported: true, arch: 'llama', quant: 'Q8_0' });
    expect(mm.allowed(deep)).toBe(deep);
    expect(() => mm.allowed(path.join(fx.lmStudio, 'linked-out.gguf'))).toThrow(/can only be loaded from/);
    expect(() => mm.allowed(path.join(outside, 'secret.gguf'))).toThrow(/can only be loaded from/);
    expect(() => mm.allowed(path.join(fx.lmStudio, 'lmstudio-community/Llama-3.2-1B-GGUF/Llama-3.2-1B-Q3_K_M.gguf'))).toThrow(/cannot be loaded: Q3_K_M weights/);
    const engine = await mm.load(deep);
    expect(engine.info.path).toBe(deep);
    expect(engine.info.nLayer).toBeGreaterThan(0);
  });

  it('writes nothing in the folders it lists', () => {
    const before = snapshot(home);
    mm.browse();
    for (const p of [fx.lmStudio, fx.ollama, fx.hfCache, fx.modelsDir, path.join(fx.lmStudio, 'lmstudio-community', 'Llama-3.2-1B-GGUF')]) mm.browse(p);
    expect(snapshot(home)).toEqual(before);
  });

  it('answers through the app API with the error codes a caller sees', async () => {
    const store = new SessionStore({ file: path.join(tmp, 's.db') });
    const app = new AppService({ models: mm, store, log: () => undefined });
    try {
      const top = (await app.call('models:browse', {})) as ModelFolder;
      expect(top.entries.length).toBe(4);
      const bad = (await app.call('models:browse', { path: '/etc' }).catch((e: unknown) => e)) as ApiError;
      expect(bad).toBeInstanceOf(ApiError);
      expect(bad).toMatchObject({ code: 'bad_request', status: 400 });
      const gone = (await app.call('models:browse', { path: path.join(fx.ollama, 'nope') }).catch((e: unknown) => e)) as ApiError;
      expect(gone).toMatchObject({ code: 'not_found', status: 404 });
      const long = (await app.call('models:browse', { path: `/${'a'.repeat(5000)}` }).catch((e: unknown) => e)) as ApiError;
      expect(long).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^models:browse: invalid request: path: /) });
    } finally {
      await app.close();
      store.close();
    }
  });

  it('with no allowed folder, says so instead of listing anything', () => {
    const none = new ModelManager({ threads: 2 });
    expect(none.browse().entries).toEqual([]);
    expect(() => none.browse('/')).toThrow('/: outside the allowed folders (none here)');
  });
});
