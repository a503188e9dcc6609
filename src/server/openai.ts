// The OpenAI-compatible API of `clasp serve`, as a ClaspServer extension:
//   GET  /v1/models, /v1/models/{id}
//   POST /v1/chat/completions   (the model's own chat template)
//   POST /v1/completions
// Streaming replies are server-sent events in OpenAI's chunk format. Requests run one at a time on
// the engine, in arrival order (RequestQueue); a client that goes away cancels its request, whether
// it is running or still waiting. The fields, defaults and refusals are documented in docs/API.md.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ServerResponse } from 'node:http';
import type { GenerationResult, PromptInput } from '../services/EngineService';
import type { EngineService } from '../services/EngineService';
import { SettingsError, validateSettings } from '../services/settings';
import type { ChatMessage } from '../services/text/chatTemplate';
import type { GenerateSettings, GenerationStats, RoundEvent } from '../shared/engineTypes';
import { ModelBusyError } from '../services/ModelManager';
import { decodePath, HttpError, readJson, retryLater, sendError, sendJson } from './http';
import {
  chatRequestSchema,
  completionRequestSchema,
  messageText,
  parseBody,
  type ChatRequest,
  type ClaspRequest,
  type CompletionRequest,
} from './openaiSchemas';
import { RequestQueue } from './requestQueue';
import type { ClaspServer, RequestContext, ServerExtension } from './server';
import { StopMatcher } from './stopStrings';

export interface OpenAiApiOptions {
  /** On shutdown, how long the running request may go on before it is cancelled (ms). Default 10 s. */
  shutdownGraceMs?: number;
}

/** A model a request may name: the loaded one, the bundled one, and those in --models-dir. */
export interface ModelEntry {
  id: string;
  path: string;
  created: number;
}

/** The `clasp` object of a response. */
export interface ClaspResponse {
  stats: GenerationStats;
  settings: {
    /** det and loi: the request's, or 'auto' (the values in force are stats.det and stats.loi) */
    mode: string; skip: number | 'auto'; skip_ratio: number | null; det: number | 'auto'; max_draft: number; loi: number | 'auto';
    temperature: number; top_p: number; top_k: number; seed: number; max_tokens: number;
  };
  rounds?: RoundEvent[];
}

type Kind = 'chat' | 'completions';

interface Job {
  kind: Kind;
  model: ModelEntry | null;
  prompt: PromptInput;
  stops: string[];
  stream: boolean;
  includeUsage: boolean;
  trace: boolean;
  maxTokens: number;
  seed: number;
  body: ChatRequest | CompletionRequest;
}

// Why a generation was cancelled (the AbortSignal's reason).
class ClientGone extends Error {}
const STOP_HIT = Symbol('stop string');
const SHUTDOWN = Symbol('shutdown');

const DEFAULT_COMPLETION_MAX_TOKENS = 16; // OpenAI's default for /v1/completions

export class OpenAiApi implements ServerExtension {
  readonly name = 'openai';
  private readonly queue: RequestQueue;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly running = new Set<AbortController>();
  private readonly graceMs: number;

  constructor(
    private readonly server: ClaspServer,
    opts: OpenAiApiOptions = {},
  ) {
    this.queue = new RequestQueue(server.limits.queueLength);
    this.graceMs = opts.shutdownGraceMs ?? 10_000;
  }

  /** Requests running and waiting (tests, /health-like probes). */
  get queueStats(): { running: number; waiting: number } {
    return this.queue.stats;
  }

  handle(ctx: RequestContext): Promise<boolean> | boolean {
    const p = ctx.url.pathname;
    if (p !== '/v1' && !p.startsWith('/v1/')) return false;
    const task = this.route(ctx).then(
      () => true,
      (e) => {
        if (!ctx.res.destroyed) sendError(ctx.res, e);
        return true;
      },
    );
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
    return task;
  }

  /**
   * Refuses waiting requests (503), gives the running one `shutdownGraceMs` to finish, then cancels
   * it. Waits for the replies to go out, but not for clients still sending their bodies (the server
   * closes those connections).
   */
  async close(): Promise<void> {
    this.queue.close();
    const timer = setTimeout(() => {
      for (const ac of this.running) ac.abort(SHUTDOWN);
    }, this.graceMs);
    let giveUp: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.allSettled([...this.inFlight]),
        new Promise((resolve) => (giveUp = setTimeout(resolve, this.graceMs + 2000))),
      ]);
    } finally {
      clearTimeout(timer);
      clearTimeout(giveUp);
    }
  }

  private async route(ctx: RequestContext): Promise<void> {
    const { req, res, url } = ctx;
    if (!ctx.api) {
      const given = req.headers.authorization !== undefined;
      res.setHeader('www-authenticate', 'Bearer');
      throw new HttpError(
        401,
        given ? 'Incorrect API key provided' : 'You did not provide an API key: send it as a bearer token (Authorization: Bearer KEY)',
        'authentication_error',
        'invalid_api_key',
      );
    }
    const p = url.pathname.replace(/\/+$/, '');
    const method = req.method ?? 'GET';
    const allow = (m: string) => {
      if (method !== m) {
        res.setHeader('allow', m);
        throw new HttpError(405, `${method} is not allowed on ${p} (use ${m})`, 'invalid_request_error', 'method_not_allowed');
      }
    };
    if (p === '/v1/models') {
      allow('GET');
      const created = Math.floor(Date.now() / 1000);
      sendJson(res, 200, { object: 'list', data: this.catalog().map((m) => modelObject(m, created)) });
      return;
    }
    if (p.startsWith('/v1/models/')) {
      allow('GET');
      const id = decodePath(p.slice('/v1/models/'.length));
      sendJson(res, 200, modelObject(this.findModel(id), Math.floor(Date.now() / 1000)));
      return;
    }
    if (p === '/v1/chat/completions' || p === '/v1/completions') {
      allow('POST');
      const body = await readJson(req, this.server.limits.maxBodyBytes, this.server.limits.bodyTimeoutMs);
      const job = p === '/v1/completions' ? this.completionJob(body) : this.chatJob(body);
      await this.run(job, res);
      return;
    }
    throw new HttpError(404, `Invalid URL (${method} ${url.pathname})`, 'invalid_request_error', 'unknown_url');
  }

  // ---- models ----

  catalog(): ModelEntry[] {
    const out: ModelEntry[] = [];
    const seen = new Set<string>();
    const add = (p: string) => {
      const full = path.resolve(p);
      const id = modelId(full);
      if (seen.has(id) || out.some((m) => m.path === full)) return;
      seen.add(id);
      let created = 0;
      try {
        created = Math.floor(fs.statSync(full).mtimeMs / 1000);
      } catch {
        /* listed but gone: keep it with 0 */
      }
      out.push({ id, path: full, created });
    };
    const cur = this.server.models.current;
    if (cur) add(cur.info.path);
    for (const m of this.server.models.list()) add(m.path);
    return out;
  }

  /** The catalogue entry a request names; 404 model_not_found otherwise (never a path). */
  findModel(name: string): ModelEntry {
    const list = this.catalog();
    const cur = this.server.models.current;
    const found =
      list.find((m) => m.id === name) ??
      list.find((m) => m.id.toLowerCase() === name.toLowerCase().replace(/\.gguf$/, '')) ??
      (cur && cur.info.name === name ? list.find((m) => m.path === path.resolve(cur.info.path)) : undefined);
    if (!found) {
      throw new HttpError(404, `The model '${name}' does not exist or you do not have access to it (see GET /v1/models).`, 'invalid_request_error', 'model_not_found', 'model');
    }
    return found;
  }

  /** The engine for a job: the named model (loading it if another is loaded) or the current one. */
  private async engineFor(job: Job): Promise<EngineService> {
    const mm = this.server.models;
    const cur = mm.current;
    if (!job.model) return cur ?? (await mm.ensure());
    if (cur && path.resolve(cur.info.path) === job.model.path) return cur;
    try {
      return await mm.load(job.model.path);
    } catch (e) {
      if (e instanceof ModelBusyError) throw retryLater(new HttpError(409, e.message, 'invalid_request_error', 'model_busy', 'model'), 2);
      this.server.log(`could not load the model ${job.model.path}: ${(e as Error).message}`);
      throw new HttpError(500, `could not load the model '${job.model.id}': ${(e as Error).message}`, 'server_error', 'model_load_failed', 'model');
    }
  }

  // ---- requests ----

  private common(b: ChatRequest | CompletionRequest, kind: Kind, maxTokens: number | null | undefined): Omit<Job, 'kind' | 'prompt' | 'body'> {
    const limit = this.server.limits.maxTokens;
    const param = kind === 'chat' && (b as ChatRequest).max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
    if (maxTokens != null && maxTokens > limit) {
      throw new HttpError(400, `${param} is ${maxTokens}, more than this server's limit of ${limit} (clasp serve --max-tokens-limit)`, 'invalid_request_error', 'integer_above_max_value', param);
    }
    if (b.stream_options != null && b.stream !== true) {
      throw new HttpError(400, 'stream_options is only allowed when stream is true', 'invalid_request_error', 'invalid_value', 'stream_options');
    }
    const c = b.clasp ?? {};
    if (c.skip != null && c.skip_ratio != null) {
      throw new HttpError(400, 'give clasp.skip or clasp.skip_ratio, not both', 'invalid_request_error', 'invalid_value', 'clasp.skip_ratio');
    }
    if (c.dp_table && !c.trace) {
      throw new HttpError(400, 'clasp.dp_table needs clasp.trace', 'invalid_request_error', 'invalid_value', 'clasp.dp_table');
    }
    const stops = b.stop == null ? [] : typeof b.stop === 'string' ? [b.stop] : b.stop;
    return {
      model: b.model != null ? this.findModel(b.model) : null,
      stops,
      stream: b.stream === true,
      includeUsage: b.stream_options?.include_usage === true,
      trace: c.trace === true,
      maxTokens: maxTokens ?? (kind === 'completions' ? Math.min(DEFAULT_COMPLETION_MAX_TOKENS, limit) : limit),
      // No seed: a fresh one, reported in clasp.settings.seed so the reply can be reproduced.
      seed: b.seed ?? crypto.randomInt(0, 2 ** 31),
    };
  }

  private chatJob(body: unknown): Job {
    const b = parseBody(chatRequestSchema, body, 'chat');
    if (b.max_tokens != null && b.max_completion_tokens != null && b.max_tokens !== b.max_completion_tokens) {
      throw new HttpError(400, 'give max_tokens or max_completion_tokens, not both', 'invalid_request_error', 'invalid_value', 'max_tokens');
    }
    const messages: ChatMessage[] = b.messages.map((m, i) => {
      const at = `messages[${i}]`;
      if (m.role === 'tool' || m.role === 'function') {
        throw new HttpError(400, `${at}: role '${m.role}' is not supported (no tool calling)`, 'invalid_request_error', 'unsupported_value', `${at}.role`);
      }
      if (!['system', 'developer', 'user', 'assistant'].includes(m.role)) {
        throw new HttpError(400, `${at}: role must be system, developer, user or assistant (got '${m.role}')`, 'invalid_request_error', 'invalid_value', `${at}.role`);
      }
      for (const f of ['tool_calls', 'function_call', 'audio', 'tool_call_id'] as const) {
        const v = m[f];
        if (v != null && !(Array.isArray(v) && v.length === 0)) {
          throw new HttpError(400, `${at}.${f} is not supported (no tool calling or audio)`, 'invalid_request_error', 'unsupported_value', `${at}.${f}`);
        }
      }
      const role = m.role === 'developer' ? 'system' : (m.role as ChatMessage['role']);
      return { role, content: messageText(m.content, i) };
    });
    return { kind: 'chat', prompt: { messages }, body: b, ...this.common(b, 'chat', b.max_completion_tokens ?? b.max_tokens) };
  }

  private completionJob(body: unknown): Job {
    const b = parseBody(completionRequestSchema, body, 'completions');
    let prompt: PromptInput;
    const p = b.prompt;
    const batch = () => new HttpError(400, 'one prompt per request (batched prompts are not supported)', 'invalid_request_error', 'unsupported_value', 'prompt');
    if (typeof p === 'string') prompt = { prompt: p };
    else if (p.length === 0) throw new HttpError(400, 'prompt is empty', 'invalid_request_error', 'invalid_value', 'prompt');
    else if (typeof p[0] === 'string') {
      if (p.length > 1) throw batch();
      prompt = { prompt: p[0] };
    } else if (typeof p[0] === 'number') prompt = { promptIds: p as number[] };
    else {
      if (p.length > 1) throw batch();
      prompt = { promptIds: p[0] as number[] };
    }
    return { kind: 'completions', prompt, body: b, ...this.common(b, 'completions', b.max_tokens) };
  }

  private settingsFor(svc: EngineService, job: Job): GenerateSettings {
    const b = job.body;
    const c: ClaspRequest = b.clasp ?? {};
    const d = svc.defaults;
    let temperature = b.temperature ?? d.temperature;
    let topP = b.top_p ?? d.topP;
    if (topP === 0) {
      // only the most likely token is left: greedy
      temperature = 0;
      topP = 1;
    }
    const mode = c.mode ?? 'clasp';
    // The policy decides from the measured cost table and acceptance counts, never from a clock,
    // so a seeded request needs no special case (docs/NUMBERS.md, "Reproducibility").
    const skip: number | 'auto' = c.skip ?? 'auto';
    try {
      return validateSettings(
        {
          maxTokens: job.maxTokens,
          temperature,
          topP,
          topK: b.top_k ?? d.topK,
          seed: job.seed,
          mode,
          skip,
          skipRatio: c.skip_ratio ?? undefined,
          det: c.det ?? undefined,
          maxDraft: c.max_draft ?? undefined,
          loi: c.loi ?? undefined,
          ignoreEos: c.ignore_eos ?? false,
          dpTable: c.dp_table ?? false,
        },
        svc.info.nLayer,
      );
    } catch (e) {
      if (e instanceof SettingsError) throw new HttpError(400, e.message, 'invalid_request_error', 'invalid_value', 'clasp');
      throw e;
    }
  }

  private encode(svc: EngineService, job: Job): number[] {
    try {
      return svc.encode(job.prompt);
    } catch (e) {
      const msg = (e as Error).message;
      const param = job.kind === 'chat' ? 'messages' : 'prompt';
      if (/context/.test(msg)) {
        throw new HttpError(400, `This model's maximum context length is ${svc.info.nCtx} tokens: ${msg}`, 'invalid_request_error', 'context_length_exceeded', param);
      }
      throw new HttpError(400, msg, 'invalid_request_error', 'invalid_value', param);
    }
  }

  private async run(job: Job, res: ServerResponse): Promise<void> {
    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) ac.abort(new ClientGone('the client went away'));
    };
    res.on('close', onClose);
    res.on('error', () => undefined);
    // Refuse what can be refused before queueing: a bad prompt or bad settings for the loaded model.
    let early: { svc: EngineService; ids: number[] } | null = null;
    const cur = this.server.models.current;
    if (cur && (!job.model || job.model.path === path.resolve(cur.info.path))) {
      this.settingsFor(cur, job);
      early = { svc: cur, ids: this.encode(cur, job) };
    }
    let release: () => void;
    try {
      release = await this.queue.acquire(ac.signal);
    } catch (e) {
      if (e instanceof ClientGone) return;
      throw e;
    }
    this.running.add(ac);
    let untrack: () => unknown = () => undefined;
    try {
      // Tracked once its engine is chosen: a switch is refused while a tracked request runs.
      const svc = await this.engineFor(job);
      untrack = this.server.models.track(ac);
      const ids = early && early.svc === svc ? early.ids : this.encode(svc, job);
      const settings = this.settingsFor(svc, job);
      if (ac.signal.aborted) {
        if (ac.signal.reason instanceof ClientGone) return;
        throw new HttpError(503, 'the server is shutting down', 'server_error', 'shutting_down');
      }
      await this.generate(svc, job, ids, settings, res, ac);
    } finally {
      this.running.delete(ac);
      untrack();
      release();
      res.off('close', onClose);
    }
  }

  private async generate(svc: EngineService, job: Job, promptIds: number[], settings: GenerateSettings, res: ServerResponse, ac: AbortController): Promise<void> {
    const created = Math.floor(Date.now() / 1000);
    const id = (job.kind === 'chat' ? 'chatcmpl-' : 'cmpl-') + crypto.randomBytes(12).toString('base64url');
    const model = job.model?.id ?? modelId(svc.info.path);
    const base = { id, object: job.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model };
    const usageNull = job.includeUsage ? { usage: null } : {};
    const send = (obj: unknown) => {
      if (!res.destroyed && !res.writableEnded) res.write(`data: ${JSON.stringify(obj)}\n\n`);
    };
    const chunk = (text: string | null, finish: string | null, extra: Record<string, unknown> = {}) =>
      job.kind === 'chat'
        ? { ...base, choices: [{ index: 0, delta: text === null ? {} : { content: text }, logprobs: null, finish_reason: finish }], ...usageNull, ...extra }
        : { ...base, choices: [{ index: 0, text: text ?? '', logprobs: null, finish_reason: finish }], ...usageNull, ...extra };

    if (job.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
      if (job.kind === 'chat') send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], ...usageNull });
    }

    const matcher = new StopMatcher(job.stops);
    let decoded = 0; // characters of the engine service's text seen so far
    let text = '';
    let counted = 0;
    const emit = (piece: string) => {
      if (!piece) return;
      text += piece;
      if (job.stream) send(chunk(piece, null));
    };
    let r: GenerationResult;
    try {
      r = await svc.generate(promptIds, settings, {
        signal: ac.signal,
        skipSpecial: true,
        onToken: (_tok, piece) => {
          decoded += piece.length;
          if (matcher.stopped) return;
          counted++;
          emit(matcher.push(piece));
          if (matcher.stopped) ac.abort(STOP_HIT);
        },
      });
    } catch (e) {
      if (job.stream) {
        send({ error: { message: `generation failed: ${(e as Error).message}`, type: 'server_error', param: null, code: 'generation_failed' } });
        res.end();
        return;
      }
      throw new HttpError(500, `generation failed: ${(e as Error).message}`, 'server_error', 'generation_failed');
    }
    if (!matcher.stopped) {
      emit(matcher.push(r.text.slice(decoded))); // the decoder's last held-back bytes
      emit(matcher.flush());
    }

    let finish: string;
    if (matcher.stopped) finish = 'stop';
    else if (r.finishReason !== 'cancelled') finish = r.finishReason;
    else {
      const why = ac.signal.reason;
      if (why instanceof ClientGone) return;
      const err =
        why === SHUTDOWN
          ? new HttpError(503, 'the server is shutting down; the generation was cancelled', 'server_error', 'shutting_down')
          : new HttpError(503, 'the generation was cancelled (the model was switched or unloaded)', 'server_error', 'cancelled');
      if (!job.stream) throw err;
      send({ error: { message: err.message, type: err.type, param: null, code: err.code } });
      res.end();
      return;
    }
    const nCompletion = matcher.stopped ? counted : r.ids.length;
    const usage = { prompt_tokens: promptIds.length, completion_tokens: nCompletion, total_tokens: promptIds.length + nCompletion };
    const clasp: ClaspResponse = {
      stats: r.stats,
      settings: {
        mode: settings.mode, skip: settings.skip, skip_ratio: settings.skipRatio ?? null, det: settings.det ?? 'auto', max_draft: settings.maxDraft,
        loi: settings.loi ?? 'auto', temperature: settings.temperature, top_p: settings.topP, top_k: settings.topK, seed: settings.seed,
        max_tokens: settings.maxTokens,
      },
      ...(job.trace ? { rounds: r.rounds } : {}),
    };

    if (job.stream) {
      send(chunk(null, finish, { clasp }));
      if (job.includeUsage) send({ ...base, choices: [], usage, clasp });
      if (!res.destroyed) res.end('data: [DONE]\n\n');
      return;
    }
    const choice =
      job.kind === 'chat'
        ? { index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: finish }
        : { index: 0, text, logprobs: null, finish_reason: finish };
    sendJson(res, 200, { id, object: job.kind === 'chat' ? 'chat.completion' : 'text_completion', created, model, choices: [choice], usage, clasp });
  }
}

/** A model's id in /v1/models: its file name without .gguf, or its folder's name. */
export function modelId(p: string): string {
  return path.basename(p).replace(/\.gguf$/i, '');
}

function modelObject(m: ModelEntry, now: number) {
  return { id: m.id, object: 'model', created: m.created || now, owned_by: 'clasp' };
}

