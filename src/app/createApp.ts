// Builds the app's services: the model manager, the session store (in a data folder) and the
// AppService over them. Used by the Electron main process (data in Electron's userData folder) and
// by `clasp serve` (data in ~/.clasp-studio/); CLASP_DATA_DIR overrides both.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelManager, type ModelManagerOptions } from '../services/ModelManager';
import { SessionStore, StoreError } from '../sessions/SessionStore';
import { AppService, type AppHost } from './AppService';
import { lockDataDir } from './dataLock';

export const DB_FILE = 'sessions.db';

export interface CreateAppOptions {
  /** Where sessions.db lives, no matter what; tests use this. */
  dataDir?: string;
  /** The front door's own default (Electron's userData); CLASP_DATA_DIR overrides it; else ~/.clasp-studio. */
  defaultDataDir?: string;
  /** A ModelManager to share (e.g. with the OpenAI API); else one is made from `modelOptions`. */
  models?: ModelManager;
  modelOptions?: ModelManagerOptions;
  /** better-sqlite3 built for this runtime (the Electron main process passes its own). */
  nativeBinding?: string;
  host?: AppHost;
  /** Start loading the usual model at once. */
  warmUp?: boolean;
  log?: (msg: string) => void;
}

export interface ClaspApp {
  app: AppService;
  store: SessionStore;
  models: ModelManager;
  dataDir: string;
  /** Stops replies (kept as 'cancelled'), closes the store, and frees the model when we made it. */
  close(): Promise<void>;
}

/** The data folder: an explicit one, else CLASP_DATA_DIR, else `fallback` (Electron's userData), else ~/.clasp-studio. */
export function resolveDataDir(explicit?: string, fallback?: string): string {
  const d = explicit ?? process.env.CLASP_DATA_DIR ?? fallback ?? path.join(os.homedir(), '.clasp-studio');
  return path.resolve(d);
}

/**
 * Opens the store. A file that is not a database (damaged, or something else at that path) is moved
 * aside as sessions.db.corrupt-<time>, with its WAL files, and a new one is started; the log says so.
 */
export function openStore(file: string, nativeBinding: string | undefined, log: (m: string) => void): SessionStore {
  try {
    return new SessionStore({ file, nativeBinding });
  } catch (e) {
    const corrupt = e instanceof StoreError || /SQLITE_(NOTADB|CORRUPT)/.test(String((e as { code?: string }).code ?? ''));
    if (!corrupt) throw e;
    const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, aside + suffix);
    }
    log(`${file} could not be opened (${(e as Error).message}); it was moved to ${aside} and a new session database was started`);
    return new SessionStore({ file, nativeBinding });
  }
}

/** The policy memory's folder inside a data folder. */
export function policyDirIn(dataDir: string): string {
  return path.join(dataDir, 'policy');
}

export function createApp(opts: CreateAppOptions = {}): ClaspApp {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[clasp app] ${m}\n`));
  const dataDir = resolveDataDir(opts.dataDir, opts.defaultDataDir);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // One process per data folder (a second would take the first one's live replies for crashed ones).
  const unlock = lockDataDir(dataDir);
  let store: SessionStore;
  try {
    store = openStore(path.join(dataDir, DB_FILE), opts.nativeBinding, log);
  } catch (e) {
    unlock();
    throw e;
  }
  if (store.interruptedOnOpen > 0) log(`${store.interruptedOnOpen} reply(ies) were cut off when the app last quit; kept as 'interrupted'`);
  const ownModels = !opts.models;
  // What the CLaSp policy learns per model and machine is kept beside the sessions.
  const models = opts.models ?? new ModelManager({ policyDir: policyDirIn(dataDir), ...opts.modelOptions });
  if (ownModels) models.on('warning', (m: string) => log(m));
  const app = new AppService({ models, store, host: opts.host, log });
  if (opts.warmUp) app.warmUp();
  let closed = false;
  return {
    app,
    store,
    models,
    dataDir,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      store.close();
      unlock();
      if (ownModels) models.dispose();
    },
  };
}
