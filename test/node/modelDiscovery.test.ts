// Model discovery on fixture folders laid out like LM Studio's, Ollama's and the Hugging Face hub
// cache, and --models-dir: names, architecture, quantisation and size from headers only, a plain
// reason for what cannot load, and nothing in those folders ever written.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManager } from '../../src/services/ModelManager';
import { defaultRoots, discoverModels, type FoundModel } from '../../src/services/modelDiscovery';
import { DEMO_Q8 } from './helpers/engine';

/** A GGUF v3 header with string/u32 metadata and no tensors: all discovery reads. */
function gguf(meta: Record<string, string | number>, pad = 0): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
  const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
  const str = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
  parts.push(Buffer.from('GGUF'), u32(3), u64(0), u64(Object.keys(meta).length));
  for (const [k, v] of Object.entries(meta)) parts.push(str(k), typeof v === 'string' ? Buffer.concat([u32(8), str(v)]) : Buffer.concat([u32(4), u32(v)]));
  parts.push(Buffer.alloc(pad));
  return Buffer.concat(parts);
}

function put(file: string, data: Buffer | string) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

/** Every file and folder with its size, mtime and content hash: proof that nothing was written. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d).sort()) {
      const p = path.join(d, e);
      const st = fs.statSync(p);
      if (st.isDirectory()) {
        out.push(`${p}/ ${st.mtimeMs}`);
        walk(p);
      } else out.push(`${p} ${st.size} ${st.mtimeMs} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out;
}

let home: string;
const SHA = (c: string) => c.repeat(64);

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'clasp-discover-'));
  const llamaQ8 = gguf({ 'general.architecture': 'llama', 'general.file_type': 7 }, 1000);
  // LM Studio: ~/.lmstudio/models/<publisher>/<repo>/<file>.gguf
  put(path.join(home, '.lmstudio/models/lmstudio-community/Llama-3.2-1B-GGUF/Llama-3.2-1B-Q8_0.gguf'), llamaQ8);
  put(path.join(home, '.lmstudio/models/lmstudio-community/Llama-3.2-1B-GGUF/Llama-3.2-1B-Q3_K_M.gguf'), gguf({ 'general.architecture': 'llama', 'general.file_type': 12 }));
  put(path.join(home, '.lmstudio/models/qwen/Qwen2-GGUF/qwen2-f16.gguf'), gguf({ 'general.architecture': 'qwen2', 'general.file_type': 1 }));
  // Ollama: manifests name blobs by digest
  const blob = (c: string) => path.join(home, '.ollama/models/blobs', `sha256-${SHA(c)}`);
  put(blob('a'), fs.readFileSync(DEMO_Q8));
  put(blob('b'), '{"license": "text"}');
  const manifest = (model: string, digest: string) => JSON.stringify({ schemaVersion: 2, layers: [{ mediaType: 'application/vnd.ollama.image.license', digest: `sha256:${SHA('b')}` }, { mediaType: 'application/vnd.ollama.image.model', digest }] });
  put(path.join(home, '.ollama/models/manifests/registry.ollama.ai/library/llama3.2/1b'), manifest('llama3.2', `sha256:${SHA('a')}`));
  put(path.join(home, '.ollama/models/manifests/registry.ollama.ai/someone/tiny/latest'), manifest('tiny', `sha256:${SHA('c')}`)); // blob missing: left out
  put(path.join(home, '.ollama/models/manifests/registry.ollama.ai/library/broken/x'), 'not json');
  // HF hub cache: models--org--name/{refs/main, snapshots/<rev>/...}
  const repo = path.join(home, '.cache/huggingface/hub/models--meta-llama--Llama-3.2-1B');
  put(path.join(repo, 'refs/main'), 'abc123\n');
  put(path.join(repo, 'snapshots/abc123/config.json'), JSON.stringify({ model_type: 'llama', torch_dtype: 'bfloat16' }));
  put(path.join(repo, 'snapshots/abc123/model.safetensors'), Buffer.alloc(2048));
  put(path.join(repo, 'snapshots/old000/config.json'), JSON.stringify({ model_type: 'llama' }));
  const awq = path.join(home, '.cache/huggingface/hub/models--someone--Llama-AWQ/snapshots/r1');
  put(path.join(awq, 'config.json'), JSON.stringify({ model_type: 'llama', quantization_config: { quant_method: 'awq' } }));
  put(path.join(awq, 'model.safetensors'), Buffer.alloc(10));
  // --models-dir
  put(path.join(home, 'models/not-a-model.gguf'), 'hello');
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

  it('lists discovered models in the model manager and allows loading them (and only them) outside --models-dir', async () => {
    const mm = new ModelManager({ modelsDir: path.join(home, 'models'), discover: defaultRoots({}, home), threads: 2, backend: 'cpu' });
    const list = mm.catalogue();
    const ollama = list.find((m) => m.name === 'llama3.2:1b')!;
    expect(ollama).toMatchObject({ source: 'ollama', supported: true, quant: 'Q8_0' });
    expect(mm.allowed(ollama.path)).toBe(ollama.path);
    const lm = list.find((m) => m.name.endsWith('Q3_K_M'))!;
    expect(() => mm.allowed(lm.path)).toThrow(/Q3_K_M weights/);
    expect(() => mm.allowed(path.join(home, '.ollama/models/blobs'))).toThrow(/can only be loaded from/);
    // it really loads: the demo model, found through Ollama's manifest
    const svc = await mm.load(ollama.path);
    expect(svc.info.nLayer).toBeGreaterThan(0);
    mm.dispose();
  });
});
