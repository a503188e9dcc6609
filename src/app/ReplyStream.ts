// One running reply: it generates on the engine, sends its tokens and rounds out as ReplyEvents
// (batched: at most one 'tokens' and one 'rounds' event per `eventIntervalMs`), writes the growing
// reply to the store (at most once per `persistIntervalMs`, so a killed app loses little), and at the
// end stores the final reply and its trace, then emits 'done' (or 'error'). Also here, for before it
// starts: the reply's settings, checked once against the model, and its row in the store.
import * as crypto from 'node:crypto';
import type { ChatSettings, Message, ReplyEvent } from '../shared/api';
import type { GenerateSettings, RoundEvent, TokenFate } from '../shared/engineTypes';
import type { EngineService } from '../services/EngineService';
import { SettingsError, validateSettings, type ValidSettings } from '../services/settings';
import { buildTrace } from '../services/traceBuilder';
import type { SessionStore } from '../sessions/SessionStore';
import { ApiError } from './apiErrors';
import type { PromptPlan } from './promptPlan';

/** What a reply needs from the app around it. */
export interface ReplyContext {
  store: SessionStore;
  emit(e: ReplyEvent): void;
  /** Tells every window that the conversation's row changed (its last activity). */
  conversationUpdated(conversationId: string): void;
  log(msg: string): void;
  eventIntervalMs: number;
  persistIntervalMs: number;
}

export class ReplyStream {
  readonly ac = new AbortController();
  /** Resolves when the reply has finished and been stored. */
  done: Promise<void> = Promise.resolve();
  /** Set when the reply was stopped by something other than the user (a model switch, quitting). */
  reason: string | null = null;
  /** The conversation is being deleted: write nothing more. */
  discard = false;

  constructor(
    private readonly ctx: ReplyContext,
    private readonly engine: EngineService,
    readonly conversationId: string,
    readonly messageId: string,
    private readonly plan: PromptPlan,
    private readonly gen: ValidSettings,
  ) {}

  /** Emits 'start' and runs the reply. `release` frees the conversation; it runs before 'done' goes out, so a client may act on it at once. */
  start(release: () => void): void {
    const { plan } = this;
    this.ctx.emit({ type: 'start', conversationId: this.conversationId, messageId: this.messageId, promptTokens: plan.ids.length, droppedTurns: plan.droppedTurns, note: plan.note });
    this.done = this.run(release)
      .catch((e) => this.ctx.log(`reply ${this.messageId} failed unexpectedly: ${(e as Error).stack ?? e}`))
      .finally(release);
  }

  /** Stops the reply (kept as 'cancelled', with `reason` as its note when given) and waits until it is stored. */
  stop(reason?: string): Promise<void> {
    if (reason !== undefined) this.reason ??= reason;
    this.ac.abort();
    return this.done;
  }

  private async run(release: () => void): Promise<void> {
    const { messageId, conversationId, engine, plan, gen, ctx } = this;
    const { store } = ctx;
    const ids: number[] = [];
    const fates: TokenFate[] = [];
    let content = '';
    let pendingRounds: RoundEvent[] = [];
    let sent = 0; // tokens [0, sent) went out in 'tokens' events
    let lastFlush = 0;
    let lastPersist = 0; // the first batch is written at once: a kill right after still keeps it
    let timer: NodeJS.Timeout | null = null;
    let textOfToken: string[] = [];

    const persist = (force: boolean) => {
      if (this.discard) return;
      const now = Date.now();
      if (!force && now - lastPersist < ctx.persistIntervalMs) return;
      lastPersist = now;
      this.safeWrite(() => store.updateMessage(messageId, { content, tokenIds: ids.slice(), fates: fates.slice(), pieces: textOfToken.slice() }));
    };

    const flush = (all: boolean) => {
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
      lastFlush = Date.now();
      if (pendingRounds.length) {
        ctx.emit({ type: 'rounds', messageId, rounds: pendingRounds });
        pendingRounds = [];
      }
      if (ids.length > sent) {
        const pieces = textOfToken.slice(sent);
        ctx.emit({ type: 'tokens', messageId, text: pieces.join(''), ids: ids.slice(sent), fates: fates.slice(sent), pieces });
        sent = ids.length;
      }
      persist(all);
    };

    const schedule = () => {
      if (timer) return;
      const wait = Math.max(lastFlush + ctx.eventIntervalMs - Date.now(), 0);
      timer = setTimeout(() => {
        timer = null;
        flush(false);
      }, wait);
    };

    // The engine says each token's fate, and EngineService's decoder (skipping special tokens) its text.
    const onToken = (id: number, piece: string, fate: TokenFate) => {
      content += piece;
      ids.push(id);
      fates.push(fate);
      textOfToken.push(piece);
      schedule();
    };
    const onRound = (r: RoundEvent) => {
      pendingRounds.push(r);
      schedule();
    };

    let status: Message['status'] = 'complete';
    try {
      const r = await engine.generate(plan.ids, gen, { onToken, onRound, signal: this.ac.signal, skipSpecial: true });
      // The decoder's last held-back bytes belong to the last token.
      if (r.text.length > content.length) {
        const tail = r.text.slice(content.length);
        content = r.text;
        textOfToken[textOfToken.length - 1] = (textOfToken[textOfToken.length - 1] ?? '') + tail;
      }
      flush(true);
      status = r.finishReason === 'cancelled' ? 'cancelled' : 'complete';
      let traceId: string | null = null;
      if (!this.discard && r.ids.length > 0) {
        try {
          const trace = buildTrace(engine.info, gen, r);
          traceId = this.safeWrite(() =>
            store.putTrace(trace, { source: 'generated', name: `${engine.info.name} · ${gen.mode} · ${r.ids.length} tokens`, conversationId, messageId }),
          ) ?? null;
        } catch (e) {
          ctx.log(`the trace of reply ${messageId} could not be built: ${(e as Error).message}`);
        }
      }
      if (!this.discard) {
        this.safeWrite(() =>
          store.updateMessage(messageId, {
            content,
            status,
            stats: r.stats,
            tokenIds: r.ids,
            fates: r.fates,
            pieces: textOfToken.slice(0, r.ids.length),
            traceId,
            ...(this.reason && status === 'cancelled' ? { note: joinNotes(plan.note, this.reason) } : {}),
          }),
        );
        this.safeWrite(() => store.touchConversation(conversationId));
        ctx.conversationUpdated(conversationId);
      }
      release();
      const note = this.reason && status === 'cancelled' ? joinNotes(plan.note, this.reason) : undefined;
      ctx.emit({ type: 'done', messageId, finishReason: r.finishReason, stats: r.stats, traceId, note });
    } catch (e) {
      if (timer) clearTimeout(timer);
      const aborted = this.ac.signal.aborted;
      const message = aborted ? (this.reason ?? 'stopped') : (e as Error).message;
      flush(true);
      if (!this.discard) {
        this.safeWrite(() =>
          store.updateMessage(messageId, {
            content,
            status: aborted ? 'cancelled' : 'error',
            tokenIds: ids.slice(),
            fates: fates.slice(),
            error: aborted ? null : message,
            ...(aborted && this.reason ? { note: joinNotes(plan.note, this.reason) } : {}),
          }),
        );
      }
      release();
      if (aborted) {
        const note = this.reason ? joinNotes(plan.note, this.reason) : undefined;
        ctx.emit({ type: 'done', messageId, finishReason: 'cancelled', stats: emptyStats(gen, engine, plan.ids.length, ids.length), traceId: null, note });
      } else {
        ctx.log(`reply ${messageId}: ${message}`);
        ctx.emit({ type: 'error', messageId, message });
      }
    } finally {
      textOfToken = [];
    }
  }

  /** A store write that must not throw out of the reply loop (e.g. the store was closed on quit). */
  private safeWrite<T>(fn: () => T): T | undefined {
    if (!this.ctx.store.isOpen) return undefined;
    try {
      return fn();
    } catch (e) {
      this.ctx.log(`could not save: ${(e as Error).message}`);
      return undefined;
    }
  }
}

/** The reply's row, stored before it starts (status 'streaming', its settings, model and prompt note). */
export function addReplyRow(store: SessionStore, engine: EngineService, conversationId: string, settings: ChatSettings, plan: PromptPlan, replyGroup?: string): Message {
  return store.addMessage({
    replyGroup,
    conversationId,
    role: 'assistant',
    content: '',
    status: 'streaming',
    settings,
    note: plan.note,
    droppedTurns: plan.droppedTurns,
    model: { name: engine.info.name, path: engine.info.path, device: engine.info.deviceInfo },
  });
}

/**
 * The reply's settings: the conversation's, with a fresh seed unless the seed is fixed, checked
 * against the model (its layer count bounds the skip count). The one check before the engine.
 */
export function replySettings(engine: EngineService, s: ChatSettings): { gen: ValidSettings; chat: ChatSettings } {
  const seed = s.fixedSeed ? s.seed : crypto.randomInt(0, 2 ** 31);
  const chat: ChatSettings = { ...s, seed };
  try {
    const gen = validateSettings(
      {
        maxTokens: s.maxTokens,
        temperature: s.temperature,
        topK: s.topK,
        topP: s.topP,
        seed,
        mode: s.mode,
        skip: s.skip,
        skipRatio: s.skipRatio,
        det: s.det,
        maxDraft: s.maxDraft,
        loi: s.loi,
        ignoreEos: false,
        dpTable: true, // the inspector draws the DP's table
      },
      engine.info.nLayer,
    );
    return { gen, chat };
  } catch (e) {
    if (e instanceof SettingsError) throw new ApiError(`this conversation's settings do not fit ${engine.info.name}: ${e.message}`, 'bad_request');
    throw e;
  }
}

function joinNotes(a: string | undefined, b: string): string {
  return a ? `${a} ${b}` : b;
}

/** The stats of a reply stopped before the engine answered. */
function emptyStats(gen: GenerateSettings, engine: EngineService, nPrompt: number, nGenerated: number) {
  const spec = gen.mode !== 'ar';
  return {
    mode: gen.mode, backend: engine.info.backend, n_prompt: nPrompt, n_reused: 0, n_generated: nGenerated, prefill_ms: 0, decode_ms: 0,
    tokens_per_s: 0, ttft_ms: 0, rounds: spec ? 0 : null, drafted: spec ? 0 : null, accepted: spec ? 0 : null,
    mean_accepted_length: null, acceptance_rate: null, dp_runs: spec ? 0 : null, dp_ms: spec ? 0 : null,
    backend_reason: engine.info.backendReason, policy: null, fallback: false, final_M: null,
  };
}
