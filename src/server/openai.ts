// The OpenAI-compatible API of `clasp serve`, as a ClaspServer extension:
//   GET  /v1/models, /v1/models/{id}
//   POST /v1/chat/completions   (the model's own chat template)
//   POST /v1/completions
// Streaming replies are server-sent events in OpenAI's chunk format. Requests run one at a time on
// the engine, in arrival order (RequestQueue); a client that goes away cancels its request, whether
// it is running or still waiting. The fields, defaults and refusals are documented in docs/API.md.
import * as path from 'node:path';
import type { ServerResponse } from 'node:http';
import type { EngineService, GenerationResult } from '../services/EngineService';
import { ModelBusyError } from '../services/ModelManager';
import type { ValidSettings } from '../services/settings';
import { decodePath, HttpError, readJson, retryLater, sendError, sendJson } from './http';
import { chatJob, completionJob, jobPromptIds, jobSettings, type Job, type JobContext } from './openaiJobs';
import { logprobEntry } from './openaiLogprobs';
import { findModel, modelEntries, modelId, modelObject } from './openaiModels';
import { claspResponse, ReplyWriter } from './openaiWire';
import { RequestQueue } from './requestQueue';
import type { ClaspServer, RequestContext, ServerExtension } from './server';
import { StopMatcher } from './stopStrings';

export interface OpenAiApiOptions {
  /** On shutdown, how long the running request may go on before it is cancelled (ms). Default 10 s. */
  shutdownGraceMs?: number;
}

// Why a generation was cancelled (the AbortSignal's reason).
class ClientGone extends Error {}
const STOP_HIT = Symbol('stop string');
const SHUTDOWN = Symbol('shutdown');

export class OpenAiApi implements ServerExtension {
  readonly name = 'openai';
  private readonly queue: RequestQueue;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly running = new Set<AbortController>();
  private readonly graceMs: number;
  private readonly jobs: JobContext;

  constructor(
    private readonly server: ClaspServer,
    opts: OpenAiApiOptions = {},
  ) {
    this.queue = new RequestQueue(server.limits.queueLength);
    this.graceMs = opts.shutdownGraceMs ?? 10_000;
    this.jobs = { maxTokensLimit: server.limits.maxTokens, findModel: (name) => findModel(server.models, name) };
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
      sendJson(res, 200, { object: 'list', data: modelEntries(this.server.models).map((m) => modelObject(m, created)) });
      return;
    }
    if (p.startsWith('/v1/models/')) {
      allow('GET');
      const id = decodePath(p.slice('/v1/models/'.length));
      sendJson(res, 200, modelObject(findModel(this.server.models, id), Math.floor(Date.now() / 1000)));
      return;
    }
    if (p === '/v1/chat/completions' || p === '/v1/completions') {
      allow('POST');
      const body = await readJson(req, this.server.limits.maxBodyBytes, this.server.limits.bodyTimeoutMs);
      const job = p === '/v1/completions' ? completionJob(this.jobs, body) : chatJob(this.jobs, body);
      await this.run(job, res);
      return;
    }
    throw new HttpError(404, `Invalid URL (${method} ${url.pathname})`, 'invalid_request_error', 'unknown_url');
  }

  // ---- running a job ----

  /** The engine for a job: the named model (loading it if another is loaded) or the current one. */
  private async engineFor(job: Job): Promise<EngineService> {
    const models = this.server.models;
    const cur = models.current;
    if (!job.model) return cur ?? (await models.ensure());
    if (cur && path.resolve(cur.info.path) === job.model.path) return cur;
    try {
      return await models.load(job.model.path);
    } catch (e) {
      if (e instanceof ModelBusyError) throw retryLater(new HttpError(409, e.message, 'invalid_request_error', 'model_busy', 'model'), 2);
      this.server.log(`could not load the model ${job.model.path}: ${(e as Error).message}`);
      throw new HttpError(500, `could not load the model '${job.model.id}': ${(e as Error).message}`, 'server_error', 'model_load_failed', 'model');
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
    let early: { engine: EngineService; ids: number[]; settings: ValidSettings } | null = null;
    const cur = this.server.models.current;
    if (cur && (!job.model || job.model.path === path.resolve(cur.info.path))) {
      early = { engine: cur, settings: jobSettings(cur, job), ids: jobPromptIds(cur, job) };
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
      const engine = await this.engineFor(job);
      untrack = this.server.models.track(ac);
      const same = early?.engine === engine ? early : null;
      const ids = same ? same.ids : jobPromptIds(engine, job);
      const settings = same ? same.settings : jobSettings(engine, job);
      if (ac.signal.aborted) {
        if (ac.signal.reason instanceof ClientGone) return;
        throw new HttpError(503, 'the server is shutting down', 'server_error', 'shutting_down');
      }
      await this.generate(engine, job, ids, settings, res, ac);
    } finally {
      this.running.delete(ac);
      untrack();
      release();
      res.off('close', onClose);
    }
  }

  private async generate(engine: EngineService, job: Job, promptIds: number[], settings: ValidSettings, res: ServerResponse, ac: AbortController): Promise<void> {
    const out = new ReplyWriter(res, job.kind, job.stream, job.includeUsage, job.model?.id ?? modelId(engine.info.path), job.logprobs !== null);
    out.begin();
    const matcher = new StopMatcher(job.stops);
    let decoded = 0; // characters of the engine service's text seen so far
    let offset = 0; // the same in code points: where the next token's text starts (text_offset)
    let counted = 0;
    const nTop = job.logprobs ?? 0;
    let r: GenerationResult;
    try {
      r = await engine.generate(promptIds, settings, {
        signal: ac.signal,
        skipSpecial: true,
        // the engine lists at least one alternative; chat's top_logprobs 0 shows none of them
        logprobs: job.logprobs === null ? 0 : Math.max(1, nTop),
        onToken: (id, piece, _fate, lp) => {
          decoded += piece.length;
          if (matcher.stopped) return;
          counted++;
          // A special token (the end token) is left out, as its text is.
          if (lp && !engine.tokenizer.isSpecial(id)) out.addLogprob(logprobEntry(engine.tokenizer, id, lp, nTop, offset));
          offset += [...piece].length;
          out.write(matcher.push(piece));
          if (matcher.stopped) ac.abort(STOP_HIT);
        },
      });
    } catch (e) {
      out.fail(new HttpError(500, `generation failed: ${(e as Error).message}`, 'server_error', 'generation_failed'));
      return;
    }
    if (!matcher.stopped) {
      out.write(matcher.push(r.text.slice(decoded))); // the decoder's last held-back bytes
      out.write(matcher.flush());
    }

    let finish: string;
    if (matcher.stopped) finish = 'stop';
    else if (r.finishReason !== 'cancelled') finish = r.finishReason;
    else {
      const why = ac.signal.reason;
      if (why instanceof ClientGone) return;
      out.fail(
        why === SHUTDOWN
          ? new HttpError(503, 'the server is shutting down; the generation was cancelled', 'server_error', 'shutting_down')
          : new HttpError(503, 'the generation was cancelled (the model was switched or unloaded)', 'server_error', 'cancelled'),
      );
      return;
    }
    const nCompletion = matcher.stopped ? counted : r.ids.length;
    const usage = { prompt_tokens: promptIds.length, completion_tokens: nCompletion, total_tokens: promptIds.length + nCompletion };
    out.finish(finish, usage, claspResponse(r.stats, settings, job.trace ? r.rounds : null));
  }
}
