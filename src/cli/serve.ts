// `clasp serve`: the web UI and the OpenAI-compatible API on one local port (see docs/API.md).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultRoots } from '../services/modelDiscovery';
import { ModelManager } from '../services/ModelManager';
import { createApp, policyDirIn, resolveDataDir } from '../app/createApp';
import { createUiExtension } from '../server/uiRoutes';
import { repoRoot } from '../services/native';
import { OpenAiApi } from '../server/openai';
import { ClaspServer, DEFAULT_LIMITS } from '../server/server';
import { helpText, parseArgs, UsageError, type FlagSpec } from './args';
import { backendFlag, ctxFlag, kvFlag, MODEL_FLAGS, POLICY_FLAGS, policyDirFlag, threadsFlag } from './common';

const SPEC: Record<string, FlagSpec> = {
  ...MODEL_FLAGS,
  ...POLICY_FLAGS,
  'policy-dir': { ...POLICY_FLAGS['policy-dir']!, default: 'policy/ in the data folder ($CLASP_DATA_DIR, else ~/.clasp-studio)' },
  host: { type: 'string', help: 'address to bind (anything but loopback exposes the server: use --api-key)', default: '127.0.0.1' },
  port: { type: 'int', help: 'port to listen on (0 picks a free one)', default: '8080' },
  'api-key': { type: 'string', help: 'require this bearer token on /v1 (or set CLASP_API_KEY)' },
  'models-dir': { type: 'string', help: 'the only folder requests and the UI may load models from' },
  'max-body': { type: 'int', help: 'largest request body in bytes', default: String(DEFAULT_LIMITS.maxBodyBytes) },
  'max-tokens-limit': { type: 'int', help: 'largest max_tokens a request may ask for', default: String(DEFAULT_LIMITS.maxTokens) },
  queue: { type: 'int', help: 'requests that may wait behind the running one before 429', default: String(DEFAULT_LIMITS.queueLength) },
  'shutdown-grace': { type: 'float', help: 'seconds the running request may finish on SIGINT/SIGTERM before it is cancelled', default: '10' },
  'no-ui': { type: 'bool', help: 'serve the API only' },
  'no-discover': { type: 'bool', help: "do not list LM Studio's, Ollama's and the Hugging Face cache's models (read-only; listed with architecture and quantisation)" },
  help: { type: 'bool', help: 'show this help' },
};

export const SERVE_USAGE = `usage: clasp serve [--model PATH] [--host 127.0.0.1] [--port 8080] [--api-key KEY] [--models-dir DIR] [options]

The web UI and an OpenAI-compatible API (/v1/models, /v1/chat/completions, /v1/completions) on one
port. It binds 127.0.0.1 unless --host says otherwise. Requests use CLaSp (mode "clasp", skip "auto")
unless they say otherwise; see docs/API.md. Ctrl-C finishes the running request, then stops.`;

function positive(f: Record<string, unknown>, name: string, lo: number, hi: number): number | undefined {
  const v = f[name] as number | undefined;
  if (v !== undefined && (v < lo || v > hi)) throw new UsageError(`--${name} must be between ${lo} and ${hi} (got ${v})`);
  return v;
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, SPEC, 'serve');
  if (flags.help) {
    console.log(helpText(SERVE_USAGE, SPEC));
    return 0;
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}" (see clasp serve --help)`);
  const port = positive(flags, 'port', 0, 65535) ?? 8080;
  const host = (flags.host as string | undefined) ?? '127.0.0.1';
  const apiKey = (flags['api-key'] as string | undefined) ?? (process.env.CLASP_API_KEY || undefined);
  if (apiKey !== undefined && apiKey.length < 1) throw new UsageError('--api-key must not be empty');
  let modelsDir = flags['models-dir'] as string | undefined;
  if (modelsDir !== undefined) {
    modelsDir = path.resolve(modelsDir);
    if (!fs.existsSync(modelsDir) || !fs.statSync(modelsDir).isDirectory()) throw new UsageError(`--models-dir ${modelsDir}: no such folder`);
  }
  let model = flags.model as string | undefined;
  // `--model NAME` may name a model inside --models-dir.
  if (model !== undefined && modelsDir !== undefined && !fs.existsSync(model) && fs.existsSync(path.join(modelsDir, model))) {
    model = path.join(modelsDir, model);
  }
  const limits = {
    maxBodyBytes: positive(flags, 'max-body', 1024, 1 << 30) ?? DEFAULT_LIMITS.maxBodyBytes,
    maxTokens: positive(flags, 'max-tokens-limit', 1, 1_000_000) ?? DEFAULT_LIMITS.maxTokens,
    queueLength: positive(flags, 'queue', 0, 100_000) ?? DEFAULT_LIMITS.queueLength,
  };
  const grace = positive(flags, 'shutdown-grace', 0, 3600) ?? 10;
  const log = (s: string) => process.stderr.write(`[clasp serve] ${s}\n`);

  const discover = flags['no-discover'] === true ? undefined : defaultRoots();
  const models = new ModelManager({ modelsDir, defaultModel: model, backend: backendFlag(flags), threads: threadsFlag(flags), nCtx: ctxFlag(flags), kvType: kvFlag(flags), discover, policyDir: policyDirFlag(flags, policyDirIn(resolveDataDir())) });
  models.on('warning', (m: string) => log(`WARNING: ${m}`));
  const uiDir = path.join(repoRoot(), 'out', 'renderer');
  const staticDir = flags['no-ui'] !== true && fs.existsSync(path.join(uiDir, 'index.html')) ? uiDir : undefined;
  // The app's data folder first: a second server on the same folder is refused before loading anything.
  const app = staticDir ? createApp({ models, log: (m) => log(m) }) : null;
  let engine;
  try {
    engine = await models.ensure();
  } catch (e) {
    await app?.close();
    throw e;
  }
  log(`model ${engine.info.name} (${engine.info.path}) on ${engine.info.deviceInfo}`);
  if (engine.info.backendReason) log(`using the CPU: ${engine.info.backendReason}`);

  const server = new ClaspServer({ models, host, port, apiKey, staticDir, limits, log });
  server.use(new OpenAiApi(server, { shutdownGraceMs: grace * 1000 }));
  // The app's UI API (conversations in SQLite, streamed replies, traces), ahead of the static files.
  if (app) {
    server.use(createUiExtension(app.app));
    log(`conversations are stored in ${app.dataDir}`);
  }

  const { url, uiUrl } = await server.listen();
  if (!['127.0.0.1', 'localhost', '::1'].includes(host) && !apiKey) {
    log(`WARNING: listening on ${host} without an API key: anyone who can reach this port can use the model (set --api-key)`);
  }
  // stdout: the two URLs, one a line (scripts read them).
  if (staticDir) console.log(`UI:  ${uiUrl}`);
  else log(flags['no-ui'] === true ? 'UI off (--no-ui)' : `UI off: ${uiDir} is not built (npm run build:web)`);
  console.log(`API: ${url}/v1${apiKey ? ' (bearer token required)' : ''}`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) {
        log(`${sig} again: exiting now`);
        models.dispose();
        process.exit(130);
      }
      stopping = true;
      log(`${sig}: finishing the running request (at most ${grace} s), refusing new ones; ${sig} again to exit now`);
      server.close().then(resolve, resolve);
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  await app?.close();
  models.dispose();
  log('stopped');
  return 0;
}
