// Fixture folders laid out like the places other apps keep models: LM Studio's models folder, Ollama's
// blob store with its manifests, the Hugging Face hub cache, and a --models-dir. The GGUF files are
// headers only (all discovery reads) except the demo model's copies, which load. Used by the
// discovery, browse and Electron main-process tests and by the "Open model…" e2e suite.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEMO_Q8 } from './paths';

/** A GGUF v3 header with string/u32 metadata and no tensors. */
export function gguf(meta: Record<string, string | number>, pad = 0): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
  const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
  const str = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
  parts.push(Buffer.from('GGUF'), u32(3), u64(0), u64(Object.keys(meta).length));
  for (const [k, v] of Object.entries(meta)) parts.push(str(k), typeof v === 'string' ? Buffer.concat([u32(8), str(v)]) : Buffer.concat([u32(4), u32(v)]));
  parts.push(Buffer.alloc(pad));
  return Buffer.concat(parts);
}

export function put(file: string, data: Buffer | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

/** Every file and folder with its size, mtime and content hash: proof that nothing was written. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d).sort()) {
      const p = path.join(d, e);
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) out.push(`${p} -> ${fs.readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.push(`${p}/ ${st.mtimeMs}`);
        walk(p);
      } else out.push(`${p} ${st.size} ${st.mtimeMs} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out;
}

/** A 64-character hex digest made of one repeated character. */
export const SHA = (c: string) => c.repeat(64);

/** Where makeModelHome put things (all inside `home`, where the other apps' defaults point). */
export interface ModelHome {
  lmStudio: string;
  /** the demo model, loadable, in LM Studio's publisher/repo layout */
  lmStudioDemo: string;
  ollama: string;
  hfCache: string;
  modelsDir: string;
}

/** Lays the fixture folders out under `home` (as ~): see the comments for what each holds. */
export function makeModelHome(home: string): ModelHome {
  const lmStudio = path.join(home, '.lmstudio/models');
  const ollama = path.join(home, '.ollama/models');
  const hfCache = path.join(home, '.cache/huggingface/hub');
  const modelsDir = path.join(home, 'models');
  const llamaQ8 = gguf({ 'general.architecture': 'llama', 'general.file_type': 7 }, 1000);
  // LM Studio: ~/.lmstudio/models/<publisher>/<repo>/<file>.gguf
  put(path.join(lmStudio, 'lmstudio-community/Llama-3.2-1B-GGUF/Llama-3.2-1B-Q8_0.gguf'), llamaQ8);
  put(path.join(lmStudio, 'lmstudio-community/Llama-3.2-1B-GGUF/Llama-3.2-1B-Q3_K_M.gguf'), gguf({ 'general.architecture': 'llama', 'general.file_type': 12 }));
  put(path.join(lmStudio, 'qwen/Qwen2-GGUF/qwen2-f16.gguf'), gguf({ 'general.architecture': 'qwen2', 'general.file_type': 1 }));
  const lmStudioDemo = path.join(lmStudio, 'clasp/clasp-demo-GGUF/clasp-demo-29M-q8_0.gguf');
  put(lmStudioDemo, fs.readFileSync(DEMO_Q8));
  // Ollama: manifests name blobs by digest
  const blob = (c: string) => path.join(ollama, 'blobs', `sha256-${SHA(c)}`);
  put(blob('a'), fs.readFileSync(DEMO_Q8));
  put(blob('b'), '{"license": "text"}');
  const manifest = (digest: string) => JSON.stringify({ schemaVersion: 2, layers: [{ mediaType: 'application/vnd.ollama.image.license', digest: `sha256:${SHA('b')}` }, { mediaType: 'application/vnd.ollama.image.model', digest }] });
  put(path.join(ollama, 'manifests/registry.ollama.ai/library/llama3.2/1b'), manifest(`sha256:${SHA('a')}`));
  put(path.join(ollama, 'manifests/registry.ollama.ai/someone/tiny/latest'), manifest(`sha256:${SHA('c')}`)); // blob missing: left out
  put(path.join(ollama, 'manifests/registry.ollama.ai/library/broken/x'), 'not json');
  // HF hub cache: models--org--name/{refs/main, snapshots/<rev>/...}
  const repo = path.join(hfCache, 'models--meta-llama--Llama-3.2-1B');
  put(path.join(repo, 'refs/main'), 'abc123\n');
  put(path.join(repo, 'snapshots/abc123/config.json'), JSON.stringify({ model_type: 'llama', torch_dtype: 'bfloat16' }));
  put(path.join(repo, 'snapshots/abc123/model.safetensors'), Buffer.alloc(2048));
  put(path.join(repo, 'snapshots/old000/config.json'), JSON.stringify({ model_type: 'llama' }));
  const awq = path.join(hfCache, 'models--someone--Llama-AWQ/snapshots/r1');
  put(path.join(awq, 'config.json'), JSON.stringify({ model_type: 'llama', quantization_config: { quant_method: 'awq' } }));
  put(path.join(awq, 'model.safetensors'), Buffer.alloc(10));
  // --models-dir
  put(path.join(modelsDir, 'not-a-model.gguf'), 'hello');
  return { lmStudio, lmStudioDemo, ollama, hfCache, modelsDir };
}
