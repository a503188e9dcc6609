// Where models come from: the bundled demo model by default, a GGUF file or a Hugging Face folder
// otherwise. Paths are checked here so the user gets one clear line, before the engine is involved.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './native';

export const BUNDLED_MODEL_FILE = 'clasp-demo-29M-q8_0.gguf';

export function bundledModelPath(): string {
  return path.join(repoRoot(), 'resources', BUNDLED_MODEL_FILE);
}

/** Resolves and checks a model path; throws an Error naming the path and the problem. */
export function resolveModelPath(p: string | undefined): string {
  const full = path.resolve(p && p.length > 0 ? p : bundledModelPath());
  let st: fs.Stats;
  try {
    st = fs.statSync(full);
  } catch {
    throw new Error(`${full}: no such file or directory`);
  }
  if (st.isDirectory()) {
    if (!fs.existsSync(path.join(full, 'config.json'))) {
      throw new Error(`${full}: a model folder needs config.json and *.safetensors (Hugging Face layout)`);
    }
    return full;
  }
  if (!st.isFile()) throw new Error(`${full}: not a regular file`);
  return full;
}

/** True when `candidate` lies inside `dir` (after resolving symlinks): models load only from --models-dir. */
export function isInside(dir: string, candidate: string): boolean {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const d = real(dir);
  const c = real(candidate);
  const rel = path.relative(d, c);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Lists the models in a folder: *.gguf files and Hugging Face subfolders (with config.json). */
export function listModels(dir: string): { name: string; path: string; kind: 'gguf' | 'hf'; bytes: number }[] {
  const out: { name: string; path: string; kind: 'gguf' | 'hf'; bytes: number }[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isFile() && e.name.toLowerCase().endsWith('.gguf')) {
      out.push({ name: e.name.replace(/\.gguf$/i, ''), path: p, kind: 'gguf', bytes: fs.statSync(p).size });
    } else if (e.isDirectory() && fs.existsSync(path.join(p, 'config.json'))) {
      let bytes = 0;
      for (const f of fs.readdirSync(p)) if (f.endsWith('.safetensors')) bytes += fs.statSync(path.join(p, f)).size;
      out.push({ name: e.name, path: p, kind: 'hf', bytes });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
