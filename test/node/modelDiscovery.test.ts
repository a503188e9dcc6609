// Model discovery on fixture folders laid out like LM Studio's, Ollama's and the Hugging Face hub
// cache, and --models-dir: names, architecture, quantisation and size from headers only, a plain
// reason for what cannot load, and nothing in those folders ever written.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManager } from '../../src/services/ModelManager';
import { defaultRoots, discoverModels, type FoundModel } from '../../src/services/modelDiscovery';
import { makeModelHome, SHA, snapshot } from './helpers/modelFolders';

let home: string;

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-discover-'));
  makeModelHome(home);
});

afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

const roots = () => ({ ...defaultRoots({}, home), modelsDir: path.join(home, 'models') });
const byName = (list: FoundModel[]) => Object.fromEntries(list.map((m) => [m.name, m]));

describe('model discovery', () => {
  it('finds LM Studio, Ollama, HF cache and --models-dir models, described from their headers', () => {
    const m = byName(discoverModels(roots()));
    expect(m['lmstudio-community/Llama-3.2-1B-GGUF/Llama-3.2-1B-Q8_0']).toMatchObject({ source: 'lmstudio', arch: 'llama', quant: 'Q8_0', supported: true, kind: 'gguf' });
    expect(m['lmstudio-community/Llama-3.2-1B-GGUF/Llama-3.2-1B-Q8_0']!.bytes).toBeGreaterThan(1000);
    expect(m['lmstudio-community/Llama-3.2-1B-GGUF/Llama-3.2-1B-Q3_K_M']).toMatchObject({ quant: 'Q3_K_M', supported: false, reason: expect.stringMatching(/Q3_K_M weights: this engine runs F32, F16, BF16, Q8_0/) });
    expect(m['qwen/Qwen2-GGUF/qwen2-f16']).toMatchObject({ arch: 'qwen2', supported: false, reason: expect.stringMatching(/Llama models only/) });
    expect(m['llama3.2:1b']).toMatchObject({ source: 'ollama', arch: 'llama', quant: 'Q8_0', supported: true });
    expect(m['llama3.2:1b']!.path).toBe(path.join(home, '.ollama/models/blobs', `sha256-${SHA('a')}`));
    expect(m['someone/tiny:latest']).toBeUndefined();
    expect(m['meta-llama/Llama-3.2-1B']).toMatchObject({ source: 'hf-cache', kind: 'hf', arch: 'llama', quant: 'BF16', supported: true, bytes: 2048 });
    expect(m['meta-llama/Llama-3.2-1B']!.path).toBe(path.join(home, '.cache/huggingface/hub/models--meta-llama--Llama-3.2-1B/snapshots/abc123'));
    expect(m['someone/Llama-AWQ']).toMatchObject({ supported: false, reason: expect.stringMatching(/quantised safetensors/) });
    expect(m['not-a-model']).toMatchObject({ source: 'models-dir', supported: false, reason: expect.stringMatching(/not a readable GGUF file/) });
  });

  it('writes nothing in the folders it reads', () => {
    const before = snapshot(home);
    discoverModels(roots());
    discoverModels(roots());
    expect(snapshot(home)).toEqual(before);
  });

  it('lists discovered models in the model manager and allows loading them (and only what is inside those folders) outside --models-dir', async () => {
    const mm = new ModelManager({ modelsDir: path.join(home, 'models'), discover: defaultRoots({}, home), threads: 2, backend: 'cpu' });
    const list = mm.catalogue();
    const ollama = list.find((m) => m.name === 'llama3.2:1b')!;
    expect(ollama).toMatchObject({ source: 'ollama', supported: true, quant: 'Q8_0' });
    expect(mm.allowed(ollama.path)).toBe(ollama.path);
    const lm = list.find((m) => m.name.endsWith('Q3_K_M'))!;
    expect(() => mm.allowed(lm.path)).toThrow(/Q3_K_M weights/);
    // outside --models-dir and the other apps' folders: refused; inside them but no model: why not
    expect(() => mm.allowed(path.join(home, 'elsewhere.gguf'))).toThrow(/can only be loaded from/);
    expect(() => mm.allowed(path.join(home, '.ollama/models/blobs'))).toThrow(/needs config.json/);
    // it really loads: the demo model, found through Ollama's manifest
    const engine = await mm.load(ollama.path);
    expect(engine.info.nLayer).toBeGreaterThan(0);
    mm.dispose();
  });
});
