// The model a front door is using, and switching between models. A switch is refused while a reply
// is being generated (ModelBusyError); the new file is checked before the old model is freed, and
// when it still fails to load the old model is put back. Models load only from the allowed folder
// when one is set (`--models-dir`), plus the bundled demo model. The app remembers the models a user
// picks (`ModelMemory`, its session store): the last one loads at start-up, the recent ones are
// offered first. The app's model list and the OpenAI server's /v1/models are both `catalogue()`.
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelFolder, ModelListItem } from '../shared/api';
import type { BackendKind } from '../shared/engineTypes';
import type { KvType } from '../shared/settings';
import { EngineService } from './EngineService';
import { browseModels, type BrowseRoot } from './modelBrowser';
import { describeGguf, describeHfFolder, discoverModels, type DiscoveryRoots, type FoundModel, type ModelSource } from './modelDiscovery';
import { bundledModelPath, checkModelFile, isInside, listModels, resolveModelPath } from './modelPaths';
import { validateSettings } from './settings';

export interface ModelManagerOptions {
  modelsDir?: string;
  defaultModel?: string;
  backend?: BackendKind;
  threads?: number;
  nCtx?: number;
  /** where the CLaSp policy keeps what it learned per model and machine (cost table, acceptance); absent: nowhere */
  policyDir?: string;
  kvType?: KvType;
  /** other apps' model folders to list (read-only): LM Studio, Ollama, the HF cache (modelDiscovery.ts) */
  discover?: DiscoveryRoots;
}


/** A switch asked for while a generation runs on the loaded model. */
export class ModelBusyError extends Error {
  constructor() {
    super('a reply is being generated with the loaded model; switch models when it has finished (or stop it)');
  }
}

export interface LoadProgress { path: string; phase: string; fraction: number; message: string }

/** Where the models a user picked are remembered (the app's session store has these two methods). */
export interface ModelMemory {
  getSetting<T>(key: string): T | undefined;
  setSetting(key: string, value: unknown): void;
}

const RECENT_MODELS_KEY = 'recentModels';
const LAST_MODEL_KEY = 'lastModel';
const MAX_RECENT = 10;

export class ModelManager extends EventEmitter {
  private engine: EngineService | null = null;
  private loading: Promise<EngineService> | null = null;
  private readonly aborts = new Set<AbortController>();

  constructor(readonly opts: ModelManagerOptions = {}) {
    super();
  }

  get current(): EngineService | null {
    return this.engine;
  }

  /**
   * The models a user may pick: the loaded one, the recently picked ones (most recent first; those
   * still allowed and present), then the bundled one and those in the models folder.
   */
  catalogue(memory?: ModelMemory): ModelListItem[] {
    const listed = new Map<string, Omit<ModelListItem, 'loaded' | 'recent'>>();
    const bundled = bundledModelPath();
    listed.set(bundled, { name: 'clasp-demo-29M (bundled)', path: bundled, kind: 'gguf', bytes: 0 });
    for (const m of this.opts.modelsDir ? listModels(this.opts.modelsDir) : []) listed.set(path.resolve(m.path), m);
    // Other apps' models, described from their headers; the ones in --models-dir keep their name.
    for (const m of this.discovered()) {
      const full = path.resolve(m.path);
      const had = listed.get(full);
      listed.set(full, had ? { ...had, ...m, name: had.name } : m);
    }

    const loadedPath = this.engine ? path.resolve(this.engine.info.path) : undefined;
    const recent = (memory?.getSetting<string[]>(RECENT_MODELS_KEY) ?? []).map((p) => path.resolve(p)).filter((p) => this.isAllowed(p));
    const out: ModelListItem[] = [];
    for (const full of new Set([...(loadedPath ? [loadedPath] : []), ...recent, ...listed.keys()])) {
      // A remembered model that is gone is left out; the loaded one stays, even if its file went.
      const m = listed.get(full) ?? describeModel(full) ?? (full === loadedPath ? { name: path.basename(full), path: full, kind: 'gguf' as const, bytes: 0 } : null);
      if (m) out.push({ ...m, loaded: full === loadedPath, recent: recent.includes(full) });
    }
    return out;
  }

  /**
   * Checks that a requested model may be loaded; returns its resolved path. With a models folder,
   * a path outside it (and outside the folders discovery reads) is refused before it is looked at,
   * so the answer never tells whether it exists. A model in another app's folder that this engine
   * cannot run is refused with the reason.
   */
  allowed(p: string): string {
    const full = path.resolve(p && p.length > 0 ? p : bundledModelPath());
    // Inside an allowed folder (links resolved): a model there loads when the engine can run it,
    // discovered or not ("Open model…" goes deeper than discovery), else it is refused with the reason.
    const root = this.opts.discover ? this.browseRoots().find((r) => isInside(r.path, full)) : undefined;
    if (root) {
      const found = this.discovered().find((m) => path.resolve(m.path) === full) ?? (root.source === 'models-dir' ? null : describeFound(full, root.source));
      if (found && !found.supported) throw new Error(`${found.name} cannot be loaded: ${found.reason}`);
      if (root.source !== 'models-dir') return resolveModelPath(full);
    }
    if (this.opts.modelsDir && full !== bundledModelPath() && !isInside(this.opts.modelsDir, full)) {
      throw new Error(`${p}: models can only be loaded from ${this.opts.modelsDir}`);
    }
    return resolveModelPath(full);
  }

  /** The folders "Open model…" in the browser lists: --models-dir, then the ones discovery reads. */
  browseRoots(): BrowseRoot[] {
    const d = this.opts.discover ?? {};
    return [
      ...(this.opts.modelsDir ? [{ source: 'models-dir' as const, label: 'Models folder', path: this.opts.modelsDir }] : []),
      ...(d.lmStudio ?? []).map((p) => ({ source: 'lmstudio' as const, label: 'LM Studio', path: p })),
      ...(d.ollama ? [{ source: 'ollama' as const, label: 'Ollama', path: d.ollama }] : []),
      ...(d.hfCache ? [{ source: 'hf-cache' as const, label: 'Hugging Face cache', path: d.hfCache }] : []),
    ];
  }

  /** One folder of "Open model…", inside browseRoots() only (modelBrowser.ts); absent: those folders. */
  browse(p?: string): ModelFolder {
    return browseModels(this.browseRoots(), p);
  }

  /** The discovery roots' models (not --models-dir's own plain listing), read afresh each time. */
  private discovered(): FoundModel[] {
    return this.opts.discover ? discoverModels({ ...this.opts.discover, modelsDir: this.opts.modelsDir }) : [];
  }

  /** True while a generation runs on the loaded model (a switch would cut it off). */
  get busy(): boolean {
    return this.aborts.size > 0;
  }

  /** An AbortController that model switches abort: generations register theirs here. */
  track(ac: AbortController): () => void {
    this.aborts.add(ac);
    return () => this.aborts.delete(ac);
  }

  /** True when `allowed(p)` would accept the path. */
  isAllowed(p: string): boolean {
    try {
      this.allowed(p);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The loaded model; else the one loading; else the last one picked (when it is still allowed and
   * present); else the default. Concurrent callers share one load.
   */
  async ensure(memory?: ModelMemory): Promise<EngineService> {
    if (this.engine) return this.engine;
    if (this.loading) return this.loading;
    const last = memory?.getSetting<string>(LAST_MODEL_KEY);
    if (last && fs.existsSync(last) && this.isAllowed(last)) return this.load(last);
    return this.load(this.opts.defaultModel ?? bundledModelPath());
  }

  /** Loads the model a user picked and remembers it: first among the recent ones, and the one to load next time. */
  async choose(p: string, memory: ModelMemory): Promise<EngineService> {
    const full = this.allowed(p);
    const engine = await this.load(full);
    const recent = (memory.getSetting<string[]>(RECENT_MODELS_KEY) ?? []).filter((x) => x !== full);
    memory.setSetting(RECENT_MODELS_KEY, [full, ...recent].slice(0, MAX_RECENT));
    memory.setSetting(LAST_MODEL_KEY, full);
    return engine;
  }

  async load(p: string): Promise<EngineService> {
    const full = this.allowed(p);
    // One load at a time: wait for one in progress before deciding anything.
    while (this.loading) await this.loading.catch(() => undefined);
    if (this.engine && path.resolve(this.engine.info.path) === full) return this.engine;
    // A file that is plainly not a model fails here, with the current model untouched.
    checkModelFile(full);
    if (this.engine && this.busy) throw new ModelBusyError();
    const task = (async () => {
      const old = this.engine;
      const oldPath = old?.info.path;
      this.engine = null;
      this.emit('unloaded', oldPath);
      if (old) {
        // Let a generation still queued return before its engine is freed; the old model is freed
        // before the new one loads, so two large models never sit in memory together.
        await old.generate([old.info.bosId >= 0 ? old.info.bosId : 0], validateSettings({ maxTokens: 0, mode: 'ar' })).catch(() => undefined);
        old.dispose();
      }
      try {
        const engine = await this.open(full);
        this.engine = engine;
        if (engine.chatTemplateWarning) this.emit('warning', `${engine.info.name}: ${engine.chatTemplateWarning}`);
        if (engine.info.policyWarning) this.emit('warning', `${engine.info.name}: ${engine.info.policyWarning}`);
        this.emit('loaded', engine.info);
        return engine;
      } catch (e) {
        // Put the previous model back so a bad file does not leave the app without one.
        if (oldPath) {
          try {
            this.engine = await this.open(oldPath);
            this.emit('loaded', this.engine.info);
          } catch {
            /* the previous model cannot be reopened either: stay without one */
          }
        }
        throw e;
      }
    })();
    this.loading = task;
    try {
      return await task;
    } finally {
      if (this.loading === task) this.loading = null;
    }
  }

  private open(full: string): Promise<EngineService> {
    return EngineService.load({
      modelPath: full,
      backend: this.opts.backend,
      threads: this.opts.threads,
      nCtx: this.opts.nCtx,
      policyDir: this.opts.policyDir,
      kvType: this.opts.kvType,
      onProgress: (pr) => this.emit('progress', { path: full, ...pr } satisfies LoadProgress),
    });
  }

  dispose(): void {
    for (const ac of this.aborts) ac.abort();
    this.engine?.dispose();
    this.engine = null;
  }
}

/** A model file or folder for the catalogue, or null when it cannot be read. */
function describeModel(full: string): Omit<ModelListItem, 'loaded' | 'recent'> | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(full);
  } catch {
    return null;
  }
  const kind = st.isDirectory() ? 'hf' : 'gguf';
  return { name: path.basename(full).replace(/\.gguf$/i, ''), path: full, kind, bytes: st.isFile() ? st.size : 0 };
}

/** A model file or folder inside another app's folder, described from its header (null: neither). */
function describeFound(full: string, source: ModelSource): FoundModel | null {
  return describeGguf(full, path.basename(full), source) ?? describeHfFolder(full, path.basename(full), source);
}
