// OpenAI's wire format for one reply: a whole JSON response, or server-sent events in its chunk
// format (a role chunk, text chunks, a final chunk, an optional usage chunk, then [DONE]), with
// CLaSp's own `clasp` object (stats, the settings used, optionally the rounds) in the last ones.
import * as crypto from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { GenerationStats, RoundEvent } from '../shared/engineTypes';
import type { ValidSettings } from '../services/settings';
import { HttpError, sendJson } from './http';
import type { JobKind } from './openaiJobs';
import { chatLogprobs, completionLogprobs, type LogprobEntry } from './openaiLogprobs';

/** The `clasp` object of a response. */
export interface ClaspResponse {
  stats: GenerationStats;
  settings: {
    /** det and loi: the request's, or 'auto' (the values in force are stats.det and stats.loi) */
    mode: string; skip: number | 'auto'; skip_ratio: number | null; skip_layers: number[] | null; det: number | 'auto'; max_draft: number; loi: number | 'auto';
    temperature: number; top_p: number; top_k: number; seed: number; max_tokens: number;
  };
  rounds?: RoundEvent[];
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function claspResponse(stats: GenerationStats, s: ValidSettings, rounds: RoundEvent[] | null): ClaspResponse {
  return {
    stats,
    settings: {
      mode: s.mode, skip: s.skip, skip_ratio: s.skipRatio ?? null, skip_layers: s.skipLayers ?? null, det: s.det ?? 'auto', max_draft: s.maxDraft,
      loi: s.loi ?? 'auto', temperature: s.temperature, top_p: s.topP, top_k: s.topK, seed: s.seed,
      max_tokens: s.maxTokens,
    },
    ...(rounds ? { rounds } : {}),
  };
}

/** Writes one reply, streamed or whole, to the response. */
export class ReplyWriter {
  private readonly id: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly base: { id: string; object: string; created: number; model: string };
  private readonly usageNull: { usage: null } | Record<string, never>;
  private text = '';
  // with logprobs: every entry (the whole response), and those not yet sent with a chunk (streaming)
  private readonly entries: LogprobEntry[] = [];
  private pending: LogprobEntry[] = [];

  constructor(
    private readonly res: ServerResponse,
    private readonly kind: JobKind,
    private readonly stream: boolean,
    private readonly includeUsage: boolean,
    private readonly model: string,
    /** the request asked for log-probabilities: each choice (and chunk) carries them, else `logprobs: null` */
    private readonly withLogprobs = false,
  ) {
    this.id = (kind === 'chat' ? 'chatcmpl-' : 'cmpl-') + crypto.randomBytes(12).toString('base64url');
    this.base = { id: this.id, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created: this.created, model };
    this.usageNull = includeUsage ? { usage: null } : {};
  }

  /** Streams: the headers, and for chat the assistant's role chunk. */
  begin(): void {
    if (!this.stream) return;
    this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    if (this.kind === 'chat') this.send({ ...this.base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], ...this.usageNull });
  }

  /**
   * A token's log-probabilities, before its text is written. Streaming, they go out with the next
   * chunk of text (text held back for a stop string takes its tokens' entries along with it).
   */
  addLogprob(e: LogprobEntry): void {
    this.entries.push(e);
    this.pending.push(e);
  }

  /** A piece of the reply's text: a chunk when streaming, else kept for the response. */
  write(piece: string): void {
    if (!piece) return;
    this.text += piece;
    if (this.stream) this.send(this.chunk(piece, null));
  }

  /** A failure after the reply began: a stream gets it as an error event and ends; otherwise it is thrown, for the router to send. */
  fail(err: HttpError): void {
    if (!this.stream) throw err;
    this.send({ error: { message: err.message, type: err.type, param: null, code: err.code } });
    this.res.end();
  }

  /** The end: the final chunk, the usage chunk when asked for, and [DONE]; or the whole response. */
  finish(finish: string, usage: Usage, clasp: ClaspResponse): void {
    if (this.stream) {
      this.send(this.chunk(null, finish, { clasp })); // with the entries of tokens whose text a stop string cut
      if (this.includeUsage) this.send({ ...this.base, choices: [], usage, clasp });
      if (!this.res.destroyed) this.res.end('data: [DONE]\n\n');
      return;
    }
    const choice =
      this.kind === 'chat'
        ? { index: 0, message: { role: 'assistant', content: this.text, refusal: null }, logprobs: this.logprobs(this.entries), finish_reason: finish }
        : { index: 0, text: this.text, logprobs: this.logprobs(this.entries), finish_reason: finish };
    const object = this.kind === 'chat' ? 'chat.completion' : 'text_completion';
    sendJson(this.res, 200, { id: this.id, object, created: this.created, model: this.model, choices: [choice], usage, clasp });
  }

  private send(obj: unknown): void {
    if (!this.res.destroyed && !this.res.writableEnded) this.res.write(`data: ${JSON.stringify(obj)}\n\n`);
  }

  /** The `logprobs` of a choice: null unless asked for; in a chunk, null when it has no entries. */
  private logprobs(entries: LogprobEntry[], chunk = false) {
    if (!this.withLogprobs || (chunk && entries.length === 0)) return null;
    return this.kind === 'chat' ? chatLogprobs(entries) : completionLogprobs(entries);
  }

  private chunk(text: string | null, finish: string | null, extra: Record<string, unknown> = {}) {
    const logprobs = this.logprobs(this.pending, true);
    this.pending = [];
    return this.kind === 'chat'
      ? { ...this.base, choices: [{ index: 0, delta: text === null ? {} : { content: text }, logprobs, finish_reason: finish }], ...this.usageNull, ...extra }
      : { ...this.base, choices: [{ index: 0, text: text ?? '', logprobs, finish_reason: finish }], ...this.usageNull, ...extra };
  }
}
