// The model a front door is using, and switching between models. A switch is refused while a reply
// is being generated (ModelBusyError); the new file is checked before the old model is freed, and
// when it still fails to load the old model is put back. Models load only from the allowed folder
// when one is set (`--models-dir`), plus the bundled demo model.
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { BackendKind } from '../shared/engineTypes';
import { EngineService } from './EngineService';
import { discoverModels, type DiscoveryRoots, type FoundModel } from './modelDiscovery';
import { bundledModelPath, checkModelFile, isInside, listModels, resolveModelPath } from './modelPaths';

export interface ModelManagerOptions {
  modelsDir?: string;
  defaultModel?: string;
  backend?: BackendKind;
  threads?: number;
  nCtx?: number;
  /** other apps' model folders to list (read-only): LM Studio, Ollama, the HF cache (modelDiscovery.ts) */
  discover?: DiscoveryRoots;
}

export type ModelListEntry = { name: string; path: string; kind: 'gguf' | 'hf'; bytes: number; loaded: boolean } & Partial<Pick<FoundModel, 'source' | 'arch' | 'quant' | 'supported' | 'reason'>>;

/** A switch asked for while a generation runs on the loaded model. */
export class ModelBusyError extends Error {
  constructor() {
    super('a reply is being generated with the loaded model; switch models when it has finished (or stop it)');
  }
}

export interface LoadProgress { path: string; phase: string; fraction: number; message: string }

export class ModelManager extends EventEmitter {
  private svc: EngineService | null = null;
  private loading: Promise<EngineService> | null = null;
  private readonly aborts = new Set<AbortController>();

  constructor(readonly opts: ModelManagerOptions = {}) {
    super();
  }

  get current(): EngineService | null {
    return this.svc;
  }

  /** The models a user may pick: the bundled one, and those in the models folder. */
  list(): ModelListEntry[] {
    const items: Omit<ModelListEntry, 'loaded'>[] = this.opts.modelsDir ? listModels(this.opts.modelsDir) : [];
    // Other apps' models, described from their headers; the ones in --models-dir keep their entry.
    for (const m of this.discovered()) {
      const i = items.findIndex((x) => path.resolve(x.path) === path.resolve(m.path));
      if (i >= 0) items[i] = { ...items[i]!, ...m, name: items[i]!.name };
      else items.push(m);
    }
    const bundled = bundledModelPath();
    if (!items.some((m) => path.resolve(m.path) === bundled)) {
      items.unshift({ name: 'clasp-demo-29M (bundled)', path: bundled, kind: 'gguf', bytes: 0 });
    }
    const cur = this.svc?.info.path;
    return items.map((m) => ({ ...m, loaded: cur !== undefined && path.resolve(m.path) === path.resolve(cur) }));
  }

  /**
   * Checks that a requested model may be loaded; returns its resolved path. With a models folder,
   * a path outside it is refused before it is looked at, so the answer never tells whether it exists.
   */
  allowed(p: string): string {
    const full = path.resolve(p && p.length > 0 ? p : bundledModelPath());
    // A model found in another app's folder may be loaded by its exact path, when the engine can run it.
    const found = this.opts.discover ? this.discovered().find((m) => path.resolve(m.path) === full) : undefined;
    if (found && !found.supported) throw new Error(`${found.name} cannot be loaded: ${found.reason}`);
    if (found) return resolveModelPath(full);
    if (this.opts.modelsDir && full !== bundledModelPath() && !isInside(this.opts.modelsDir, full)) {
      throw new Error(`${p}: models can only be loaded from ${this.opts.modelsDir}`);
    }
    return resolveModelPath(full);
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

  async ensure(): Promise<EngineService> {
    if (this.svc) return this.svc;
    if (this.loading) return this.loading;
    return this.load(this.opts.defaultModel ?? bundledModelPath());
  }

  async load(p: string): Promise<EngineService> {
    const full = this.allowed(p);
    // One load at a time: wait for one in progress before deciding anything.
    while (this.loading) await this.loading.catch(() => undefined);
    if (this.svc && path.resolve(this.svc.info.path) === full) return this.svc;
    // A file that is plainly not a model fails here, with the current model untouched.
    checkModelFile(full);
    if (this.svc && this.busy) throw new ModelBusyError();
    const task = (async () => {
      const old = this.svc;
      const oldPath = old?.info.path;
      this.svc = null;
      this.emit('unloaded', oldPath);
      if (old) {
        // Let a generation still queued return before its engine is freed; the old model is freed
        // before the new one loads, so two large models never sit in memory together.
        await old.generate([old.info.bosId >= 0 ? old.info.bosId : 0], { maxTokens: 0, mode: 'ar' }).catch(() => undefined);
        old.dispose();
      }
      try {
        const svc = await this.open(full);
        this.svc = svc;
        if (svc.chatTemplateWarning) this.emit('warning', `${svc.info.name}: ${svc.chatTemplateWarning}`);
        this.emit('loaded', svc.info);
        return svc;
      } catch (e) {
        // Put the previous model back so a bad file does not leave the app without one.
        if (oldPath) {
          try {
            this.svc = await this.open(oldPath);
            this.emit('loaded', this.svc.info);
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
      onProgress: (pr) => this.emit('progress', { path: full, ...pr } satisfies LoadProgress),
    });
  }

  dispose(): void {
    for (const ac of this.aborts) ac.abort();
    this.svc?.dispose();
    this.svc = null;
  }
}
