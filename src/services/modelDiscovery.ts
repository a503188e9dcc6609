// Finds the models users already have, where other apps keep them, without writing anything there:
// LM Studio's models folder (publisher/repo/*.gguf), Ollama's blob store (manifests name the blobs:
// library/llama3.2/1b → "llama3.2:1b"), the Hugging Face hub cache (models--org--name/snapshots/rev)
// and --models-dir. Each model is described from its header only (GGUF metadata, or config.json):
// architecture, size and quantisation, and whether this engine can run it, with the reason if not.
// Only readdir, stat and read-only opens are used.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readGgufMetadata } from './ggufMeta';

export type ModelSource = 'models-dir' | 'lmstudio' | 'ollama' | 'hf-cache';

export interface FoundModel {
  name: string;
  path: string;
  kind: 'gguf' | 'hf';
  bytes: number;
  source: ModelSource;
  arch: string | null;
  quant: string | null;
  supported: boolean;
  /** why it cannot be loaded (when not supported) */
  reason?: string;
}

export interface DiscoveryRoots {
  modelsDir?: string;
  lmStudio?: string[];
  ollama?: string;
  hfCache?: string;
}

/** Where the other apps keep models on this machine (their defaults and environment variables). */
export function defaultRoots(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): DiscoveryRoots {
  return {
    lmStudio: [path.join(home, '.lmstudio', 'models'), path.join(home, '.cache', 'lm-studio', 'models')],
    ollama: env.OLLAMA_MODELS || path.join(home, '.ollama', 'models'),
    hfCache: env.HF_HUB_CACHE || (env.HF_HOME ? path.join(env.HF_HOME, 'hub') : path.join(home, '.cache', 'huggingface', 'hub')),
  };
}

// llama.cpp's general.file_type values; RUNNABLE: the weight mixes the engine reads (not Q2_K, Q3_K or the i-quants).
const FILE_TYPES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1', 10: 'Q2_K', 11: 'Q3_K_S', 12: 'Q3_K_M', 13: 'Q3_K_L',
  14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S', 17: 'Q5_K_M', 18: 'Q6_K', 19: 'IQ2_XXS', 20: 'IQ2_XS', 21: 'Q2_K_S', 22: 'IQ3_XS',
  23: 'IQ3_XXS', 24: 'IQ1_S', 25: 'IQ4_NL', 26: 'IQ3_S', 27: 'IQ3_M', 28: 'IQ2_S', 29: 'IQ2_M', 30: 'IQ4_XS', 31: 'IQ1_M', 32: 'BF16',
};
const RUNNABLE = new Set(['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K_S', 'Q4_K_M', 'Q5_K_S', 'Q5_K_M', 'Q6_K']);

function stat(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

function readdir(p: string): string[] {
  try {
    return fs.readdirSync(p);
  } catch {
    return [];
  }
}

/** A GGUF file described from its metadata alone. */
export function describeGguf(file: string, name: string, source: ModelSource): FoundModel | null {
  const st = stat(file);
  if (!st?.isFile()) return null;
  const base = { name, path: file, kind: 'gguf' as const, bytes: st.size, source };
  let meta: Record<string, unknown>;
  try {
    meta = readGgufMetadata(file);
  } catch (e) {
    return { ...base, arch: null, quant: null, supported: false, reason: `not a readable GGUF file (${(e as Error).message.replace(file + ': ', '')})` };
  }
  const arch = typeof meta['general.architecture'] === 'string' ? (meta['general.architecture'] as string) : null;
  const ft = meta['general.file_type'];
  const quant = typeof ft === 'number' ? (FILE_TYPES[ft] ?? `type ${ft}`) : null;
  if (arch !== 'llama') return { ...base, arch, quant, supported: false, reason: `architecture ${arch ?? 'unknown'}: this engine runs Llama models only` };
  if (quant && !RUNNABLE.has(quant)) return { ...base, arch, quant, supported: false, reason: `${quant} weights: this engine runs F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and the Q4_K, Q5_K, Q6_K mixes` };
  return { ...base, arch, quant, supported: true };
}

/** A Hugging Face folder (config.json + *.safetensors) described from its config.json. */
export function describeHfFolder(dir: string, name: string, source: ModelSource): FoundModel | null {
  if (!stat(path.join(dir, 'config.json'))?.isFile()) return null;
  const weights = readdir(dir).filter((f) => f.endsWith('.safetensors'));
  const bytes = weights.reduce((n, f) => n + (stat(path.join(dir, f))?.size ?? 0), 0);
  const base = { name, path: dir, kind: 'hf' as const, bytes, source };
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return { ...base, arch: null, quant: null, supported: false, reason: 'config.json is not valid JSON' };
  }
  const arch = typeof cfg.model_type === 'string' ? cfg.model_type : null;
  const dtype = typeof cfg.torch_dtype === 'string' ? cfg.torch_dtype.replace('float', 'F').replace('bF', 'BF').toUpperCase() : null;
  if (weights.length === 0) return { ...base, arch, quant: dtype, supported: false, reason: 'no *.safetensors weights in the folder' };
  if (arch !== 'llama') return { ...base, arch, quant: dtype, supported: false, reason: `architecture ${arch ?? 'unknown'}: this engine runs Llama models only` };
  if (cfg.quantization_config) return { ...base, arch, quant: 'quantised', supported: false, reason: 'quantised safetensors (quantization_config): this engine reads F16, BF16 or F32 safetensors' };
  return { ...base, arch, quant: dtype, supported: true };
}

/** *.gguf files up to `depth` folders down (LM Studio: publisher/repo/file.gguf). */
function ggufFiles(dir: string, depth: number, prefix = ''): { file: string; name: string }[] {
  const out: { file: string; name: string }[] = [];
  for (const e of readdir(dir)) {
    const p = path.join(dir, e);
    const st = stat(p);
    if (st?.isFile() && e.toLowerCase().endsWith('.gguf')) out.push({ file: p, name: prefix + e.replace(/\.gguf$/i, '') });
    else if (st?.isDirectory() && depth > 0) out.push(...ggufFiles(p, depth - 1, `${prefix}${e}/`));
  }
  return out;
}

export function discoverLmStudio(root: string): FoundModel[] {
  return ggufFiles(root, 2).flatMap(({ file, name }) => describeGguf(file, name, 'lmstudio') ?? []);
}

/** Ollama: manifests/<registry>/<namespace>/<model>/<tag> (JSON) name a blob of media type image.model. */
export function discoverOllama(root: string): FoundModel[] {
  const out: FoundModel[] = [];
  const manifests = path.join(root, 'manifests');
  for (const registry of readdir(manifests)) {
    for (const ns of readdir(path.join(manifests, registry))) {
      for (const model of readdir(path.join(manifests, registry, ns))) {
        for (const tag of readdir(path.join(manifests, registry, ns, model))) {
          const file = path.join(manifests, registry, ns, model, tag);
          let layers: { mediaType?: unknown; digest?: unknown }[];
          try {
            layers = (JSON.parse(fs.readFileSync(file, 'utf8')) as { layers?: typeof layers }).layers ?? [];
          } catch {
            continue;
          }
          const layer = layers.find((l) => l.mediaType === 'application/vnd.ollama.image.model');
          if (typeof layer?.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(layer.digest)) continue;
          const blob = path.join(root, 'blobs', layer.digest.replace(':', '-'));
          const name = `${registry === 'registry.ollama.ai' && ns === 'library' ? '' : `${ns}/`}${model}:${tag}`;
          const m = describeGguf(blob, name, 'ollama');
          if (m) out.push(m);
        }
      }
    }
  }
  return out;
}

/** The HF hub cache: models--org--name/snapshots/<rev>, the revision refs/main names (else the newest). */
export function discoverHfCache(root: string): FoundModel[] {
  const out: FoundModel[] = [];
  for (const e of readdir(root)) {
    if (!e.startsWith('models--')) continue;
    const repo = path.join(root, e);
    const name = e.slice('models--'.length).replace(/--/g, '/');
    let rev: string | null;
    try {
      rev = fs.readFileSync(path.join(repo, 'refs', 'main'), 'utf8').trim();
    } catch {
      rev = readdir(path.join(repo, 'snapshots')).sort((a, b) => (stat(path.join(repo, 'snapshots', b))?.mtimeMs ?? 0) - (stat(path.join(repo, 'snapshots', a))?.mtimeMs ?? 0))[0] ?? null;
    }
    if (!rev || !/^[\w.-]+$/.test(rev)) continue;
    const snap = path.join(repo, 'snapshots', rev);
    const hf = describeHfFolder(snap, name, 'hf-cache');
    if (hf) out.push(hf);
    for (const g of ggufFiles(snap, 1)) {
      const m = describeGguf(g.file, `${name}/${g.name}`, 'hf-cache');
      if (m) out.push(m);
    }
  }
  return out;
}

/** --models-dir: *.gguf files and Hugging Face folders directly in it. */
export function discoverModelsDir(root: string): FoundModel[] {
  return readdir(root).flatMap((e) => {
    const p = path.join(root, e);
    if (e.toLowerCase().endsWith('.gguf')) return describeGguf(p, e.replace(/\.gguf$/i, ''), 'models-dir') ?? [];
    return stat(p)?.isDirectory() ? (describeHfFolder(p, e, 'models-dir') ?? []) : [];
  });
}

export function discoverModels(roots: DiscoveryRoots): FoundModel[] {
  const all = [
    ...(roots.modelsDir ? discoverModelsDir(roots.modelsDir) : []),
    ...(roots.lmStudio ?? []).flatMap(discoverLmStudio),
    ...(roots.ollama ? discoverOllama(roots.ollama) : []),
    ...(roots.hfCache ? discoverHfCache(roots.hfCache) : []),
  ];
  const seen = new Set<string>();
  return all.filter((m) => (seen.has(m.path) ? false : (seen.add(m.path), true)));
}
