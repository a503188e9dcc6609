// Everything the app does behind the UI, as a plain Node module: the Electron main process calls it
// over IPC, and `clasp serve` over HTTP (src/server/uiRoutes.ts). It has no `electron` import; the
// few things only a desktop shell can do (a save dialog) come in through `AppHost`.
//
// Every request is validated with the zod schema of its channel (src/shared/api.ts) before use.
// Replies stream as ReplyEvents, batched (at most one 'tokens' and one 'rounds' event per
// `eventIntervalMs`), and are written to the store as they grow, so a killed app loses nothing.
import { EventEmitter } from 'node:events';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as fs from 'node:fs';
import {
  requests,
  settingsSchema,
  type AppEvent,
  type Channel,
  type ChatSettings,
  type Conversation,
  type ExportedFile,
  type Message,
  type ModelEvent,
  type ReplyEvent,
  type RequestOf,
  type ResponseOf,
} from '../shared/api';
import type { GenerateSettings, ModelInfo, RoundEvent, TokenFate } from '../shared/engineTypes';
import { applySettingsPatch, defaultChatSettings } from '../shared/settings';
import { TraceError, parseTrace } from '../shared/trace';
import { PromptTooLongError, type EngineService } from '../services/EngineService';
import { ModelBusyError, type LoadProgress, type ModelManager } from '../services/ModelManager';
import { SettingsError, validateSettings } from '../services/settings';
import { buildTrace } from '../services/traceBuilder';
import type { ChatMessage } from '../services/text/chatTemplate';
import { SessionStore, StoreError } from '../store/SessionStore';
import { exportChat, exportTrace } from './exporters';

export type ApiErrorCode = 'unknown_channel' | 'bad_request' | 'not_found' | 'busy' | 'model_error' | 'unavailable' | 'internal';

const STATUS: Record<ApiErrorCode, number> = {
  unknown_channel: 404,
  bad_request: 400,
  not_found: 404,
  busy: 409,
  model_error: 500,
  unavailable: 503,
  internal: 500,
};

/** An error a caller may show as is: `code` and `status` say what kind. Never longer than 1000 characters (no echoed input). */
export class ApiError extends Error {
  readonly status: number;
  constructor(message: string, readonly code: ApiErrorCode) {
    super(message.length > 1000 ? `${message.slice(0, 1000)}… (${message.length - 1000} more characters)` : message);
    this.status = STATUS[code];
  }
}

/** What only a desktop shell can do; absent in `clasp serve`. */
export interface AppHost {
  /** Shows a save dialog and writes the file; resolves to the path written, or null when cancelled. */
  saveFile?(file: ExportedFile): Promise<string | null>;
}

export interface AppServiceOptions {
  models: ModelManager;
  store: SessionStore;
  host?: AppHost;
  /** Reply events go out at most this often (ms). */
  eventIntervalMs?: number;
  /** The streaming reply's row is rewritten at most this often (ms). */
  persistIntervalMs?: number;
  log?: (msg: string) => void;
}

export const DEFAULT_TITLE = 'New chat';
const RECENT_MODELS_KEY = 'recentModels';
const LAST_MODEL_KEY = 'lastModel';

interface ActiveReply {
  conversationId: string;
  messageId: string;
  ac: AbortController;
  done: Promise<void>;
  /** set when the reply was stopped by something other than the user (a model switch) */
  reason: string | null;
  /** the conversation is being deleted: write nothing more */
  discard: boolean;
}

interface PromptPlan {
  ids: number[];
  droppedTurns: number;
  note: string | undefined;
}

type Handlers = { [C in Channel]: (p: RequestOf<C>) => Promise<ResponseOf<C>> | ResponseOf<C> };

export class AppService {
  readonly models: ModelManager;
  readonly store: SessionStore;
  private readonly host: AppHost;
  private readonly events = new EventEmitter();
  private readonly active = new Map<string, ActiveReply>();
  private readonly eventIntervalMs: number;
  private readonly persistIntervalMs: number;
  private readonly log: (msg: string) => void;
  private readonly detach: () => void;
  private closed = false;

  constructor(opts: AppServiceOptions) {
    this.models = opts.models;
    this.store = opts.store;
    this.host = opts.host ?? {};
    this.eventIntervalMs = opts.eventIntervalMs ?? 40;
    this.persistIntervalMs = opts.persistIntervalMs ?? 250;
    this.log = opts.log ?? ((m) => process.stderr.write(`[clasp app] ${m}\n`));
    this.events.setMaxListeners(0);

    const onProgress = (p: LoadProgress) => this.emitModel({ type: 'progress', path: p.path, fraction: p.fraction, message: p.message });
    const onLoaded = (info: ModelInfo) => this.emitModel({ type: 'loaded', info });
    const onUnloaded = () => {
      for (const a of this.active.values()) a.reason ??= 'Stopped: the model was switched while this reply was being written.';
    };
    this.models.on('progress', onProgress);
    this.models.on('loaded', onLoaded);
    this.models.on('unloaded', onUnloaded);
    this.detach = () => {
      this.models.off('progress', onProgress);
      this.models.off('loaded', onLoaded);
      this.models.off('unloaded', onUnloaded);
    };
  }

  // ---- events ----

  onReplyEvent(cb: (e: ReplyEvent) => void): () => void {
    return this.listen('reply', cb);
  }

  onModelEvent(cb: (e: ModelEvent) => void): () => void {
    return this.listen('model', cb);
  }

  onAppEvent(cb: (e: AppEvent) => void): () => void {
    return this.listen('app', cb);
  }

  private listen<T>(name: string, cb: (e: T) => void): () => void {
    const safe = (e: T) => {
      try {
        cb(e);
      } catch (err) {
        this.log(`an event listener threw: ${(err as Error).message}`);
      }
    };
    this.events.on(name, safe);
    return () => this.events.off(name, safe);
  }

  private emitReply(e: ReplyEvent): void {
    this.events.emit('reply', e);
  }

  private emitModel(e: ModelEvent): void {
    this.events.emit('model', e);
  }

  /** Emits an app event (the Electron menu uses this to tell the renderer what it did). */
  emitApp(e: AppEvent): void {
    this.events.emit('app', e);
  }

  /** Tells every window that a conversation's row changed behind a request (its title, its last activity). */
  private conversationUpdated(id: string): void {
    const conversation = this.store.isOpen ? this.store.getConversation(id) : null;
    if (conversation) this.emitApp({ type: 'conversation-updated', conversation });
  }

  // ---- the one entry point ----

  /** Validates the channel and its payload, then runs it. Throws ApiError with a message for the user. */
  async call(channel: unknown, payload: unknown): Promise<unknown> {
    if (typeof channel !== 'string' || !Object.prototype.hasOwnProperty.call(requests, channel)) {
      const shown = typeof channel === 'string' ? JSON.stringify(channel.slice(0, 100)) : typeof channel;
      throw new ApiError(`unknown channel ${shown}; the channels are: ${Object.keys(requests).join(', ')}`, 'unknown_channel');
    }
    const c = channel as Channel;
    const parsed = parsePayload(c, payload);
    if (this.closed) throw new ApiError('the app is shutting down', 'unavailable');
    const handler = this.handlers[c] as (p: unknown) => unknown;
    try {
      return await handler(parsed);
    } catch (e) {
      throw toApiError(e);
    }
  }

  /** Typed convenience for Node callers (tests, the Electron main process). */
  invoke<C extends Channel>(channel: C, payload: RequestOf<C>): Promise<ResponseOf<C>> {
    return this.call(channel, payload) as Promise<ResponseOf<C>>;
  }

  private readonly handlers: Handlers = {
    'conversations:list': () => this.store.listConversations(),
    'conversations:create': (p) => this.createConversation(p),
    'conversations:update': (p) => this.updateConversation(p),
    'conversations:delete': (p) => this.deleteConversation(p.id),
    'messages:list': (p) => {
      this.requireConversation(p.conversationId);
      return this.store.listMessages(p.conversationId);
    },
    'chat:send': (p) => this.send(p),
    'chat:regenerate': (p) => this.regenerate(p.conversationId),
    'chat:stop': (p) => this.stop(p.conversationId),
    'models:list': () => this.listModels(),
    'models:load': (p) => this.loadModel(p.path),
    'models:current': () => {
      const svc = this.models.current;
      return svc ? { info: svc.info, defaults: { ...svc.defaults } } : null;
    },
    'trace:get': (p) => {
      const t = this.store.getTrace(p.traceId);
      if (!t) throw new ApiError(`no trace with id ${p.traceId}`, 'not_found');
      return t;
    },
    'trace:import': (p) => this.importTrace(p.text, p.name),
    'export:chat': (p) => {
      const conv = this.requireConversation(p.conversationId);
      return this.deliver(exportChat(conv, this.store.listMessages(conv.id), p.format));
    },
    'export:trace': (p) => {
      const t = this.store.getTrace(p.traceId);
      if (!t) throw new ApiError(`no trace with id ${p.traceId}`, 'not_found');
      return this.deliver(exportTrace(p.traceId, t, p.format));
    },
    'traces:list': () => this.store.listTraces(),
    'chat:count': (p) => this.countPrompt(p.conversationId, p.content),
    'tokens:decode': (p) => {
      // Token ids to text for the inspector (imported traces, rejected drafts), one id at a time.
      const svc = this.models.current;
      if (!svc) throw new ApiError('no model is loaded', 'not_found');
      const t = svc.tokenizer;
      return { model: svc.info.name, pieces: p.ids.map((id) => (id < t.vocabSize ? t.decode([id]) : null)) };
    },
    'trace:delete': (p) => {
      const rec = this.store.getTraceRecord(p.traceId);
      if (!rec) return { deleted: false };
      // A reply's own trace goes with the reply (delete or regenerate it); imported ones go here.
      if (rec.source !== 'imported') throw new ApiError('only imported traces can be deleted; a reply’s trace goes with the reply', 'bad_request');
      return { deleted: this.store.deleteTrace(p.traceId) };
    },
  };

  // ---- conversations ----

  private requireConversation(id: string): Conversation {
    const c = this.store.getConversation(id);
    if (!c) throw new ApiError(`no conversation with id ${id}`, 'not_found');
    return c;
  }

  private createConversation(p: RequestOf<'conversations:create'>): Conversation {
    const base = defaultChatSettings(this.models.current?.defaults);
    const settings = checkSettings({ ...base, ...stripUndefined(p.settings ?? {}) });
    return this.store.createConversation({ title: p.title?.trim() || DEFAULT_TITLE, systemPrompt: p.systemPrompt ?? '', settings });
  }

  private updateConversation(p: RequestOf<'conversations:update'>): Conversation {
    const cur = this.requireConversation(p.id);
    const settings = p.settings ? checkSettings(applySettingsPatch(cur.settings, p.settings)) : undefined;
    return this.store.updateConversation(p.id, { title: p.title?.trim() || undefined, systemPrompt: p.systemPrompt, settings });
  }

  private async deleteConversation(id: string): Promise<{ deleted: boolean }> {
    const a = this.active.get(id);
    if (a) {
      // Deleting the open conversation while it streams: stop the reply and write nothing more.
      a.discard = true;
      a.ac.abort();
      await a.done;
    }
    const deleted = this.store.deleteConversation(id);
    if (deleted) this.emitApp({ type: 'conversation-deleted', conversationId: id });
    return { deleted };
  }

  // ---- chat ----

  private assertIdle(conversationId: string): void {
    if (this.active.has(conversationId)) {
      throw new ApiError('a reply is still being written in this conversation; stop it first (chat:stop)', 'busy');
    }
  }

  private async send(p: RequestOf<'chat:send'>): Promise<ResponseOf<'chat:send'>> {
    let conv = this.requireConversation(p.conversationId);
    this.assertIdle(conv.id);
    const svc = await this.ensureModel();
    conv = this.requireConversation(p.conversationId); // it may have changed while the model loaded
    this.assertIdle(conv.id);

    const history = this.store.listMessages(conv.id);
    let base: Message[];
    let edited: Message | undefined;
    if (p.editOf !== undefined) {
      const i = history.findIndex((m) => m.id === p.editOf);
      edited = history[i];
      if (!edited) throw new ApiError(`editOf: no message with id ${p.editOf} in this conversation`, 'not_found');
      if (edited.role !== 'user') throw new ApiError('editOf must name a user message (assistant replies are regenerated, not edited)', 'bad_request');
      base = history.slice(0, i);
    } else {
      base = history;
    }
    const turns = [...toChat(base), { role: 'user' as const, content: p.content }];
    const { gen, chat } = this.replySettings(svc, conv.settings);
    const plan = this.planPrompt(svc, conv, turns, gen.maxTokens);

    // Everything checked: change the store in one step.
    let userMessage!: Message;
    let assistantMessage!: Message;
    this.store.transaction(() => {
      if (edited) {
        this.store.updateMessage(edited.id, { content: p.content });
        this.store.deleteMessagesAfter(conv.id, this.store.messageSeq(edited.id)!);
        userMessage = this.store.getMessage(edited.id)!;
      } else {
        userMessage = this.store.addMessage({ conversationId: conv.id, role: 'user', content: p.content, status: 'complete' });
      }
      assistantMessage = this.newReply(svc, conv.id, chat, plan);
      if (conv.title === DEFAULT_TITLE && base.length === 0) {
        this.store.updateConversation(conv.id, { title: titleFrom(p.content) });
      }
    });
    this.conversationUpdated(conv.id);
    this.startReply(svc, conv.id, assistantMessage, plan, gen);
    return { userMessage, assistantMessage, promptTokens: plan.ids.length, droppedTurns: plan.droppedTurns };
  }

  /** chat:send's prompt plan without sending: the composer's context meter counts what the server will. */
  private countPrompt(conversationId: string, content: string): ResponseOf<'chat:count'> {
    const conv = this.requireConversation(conversationId);
    const svc = this.models.current;
    if (!svc) return { promptTokens: null, nCtx: null, droppedTurns: 0, fits: true };
    const turns = [...toChat(this.store.listMessages(conv.id)), { role: 'user' as const, content }];
    try {
      const { gen } = this.replySettings(svc, conv.settings);
      const plan = this.planPrompt(svc, conv, turns, gen.maxTokens);
      return { promptTokens: plan.ids.length, nCtx: svc.info.nCtx, droppedTurns: plan.droppedTurns, fits: true };
    } catch (e) {
      if (e instanceof ApiError && e.code === 'bad_request') return { promptTokens: null, nCtx: svc.info.nCtx, droppedTurns: 0, fits: false, reason: e.message };
      throw e;
    }
  }

  private async regenerate(conversationId: string): Promise<ResponseOf<'chat:regenerate'>> {
    let conv = this.requireConversation(conversationId);
    this.assertIdle(conv.id);
    const svc = await this.ensureModel();
    conv = this.requireConversation(conversationId);
    this.assertIdle(conv.id);
    const history = this.store.listMessages(conv.id);
    const last = history[history.length - 1];
    const replaced = last?.role === 'assistant' ? last : undefined;
    const base = replaced ? history.slice(0, -1) : history;
    if (base[base.length - 1]?.role !== 'user') {
      throw new ApiError('nothing to regenerate: the conversation does not end with a user message and its reply', 'bad_request');
    }
    const { gen, chat } = this.replySettings(svc, conv.settings);
    const plan = this.planPrompt(svc, conv, toChat(base), gen.maxTokens);
    let assistantMessage!: Message;
    this.store.transaction(() => {
      if (replaced) this.store.deleteMessage(replaced.id); // its trace goes with it
      assistantMessage = this.newReply(svc, conv.id, chat, plan);
    });
    this.conversationUpdated(conv.id);
    this.startReply(svc, conv.id, assistantMessage, plan, gen);
    return { assistantMessage, promptTokens: plan.ids.length, droppedTurns: plan.droppedTurns };
  }

  private async stop(conversationId: string): Promise<ResponseOf<'chat:stop'>> {
    const a = this.active.get(conversationId);
    if (!a) return { stopped: false, messageId: null };
    a.ac.abort();
    await a.done;
    return { stopped: true, messageId: a.messageId };
  }

  /** Resolves when the conversation's reply (if any) has finished and been stored. */
  async waitIdle(conversationId?: string): Promise<void> {
    const list = conversationId ? [this.active.get(conversationId)] : [...this.active.values()];
    await Promise.all(list.map((a) => a?.done));
  }

  /** The reply's settings: the conversation's, with a fresh seed unless the seed is fixed. */
  private replySettings(svc: EngineService, s: ChatSettings): { gen: GenerateSettings; chat: ChatSettings } {
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
        svc.info.nLayer,
      );
      return { gen, chat };
    } catch (e) {
      if (e instanceof SettingsError) throw new ApiError(`this conversation's settings do not fit ${svc.info.name}: ${e.message}`, 'bad_request');
      throw e;
    }
  }

  /**
   * The prompt: system prompt + history through the model's chat template. When it and the reply's
   * room (max tokens, at most half the context) do not fit the context, the oldest turns after the
   * system prompt are left out, whole turns (a user message and its reply) at a time.
   */
  private planPrompt(svc: EngineService, conv: Conversation, turns: ChatMessage[], maxTokens: number): PromptPlan {
    const nCtx = svc.info.nCtx;
    const system: ChatMessage[] = conv.systemPrompt.trim() ? [{ role: 'system', content: conv.systemPrompt }] : [];
    // Group into turns: each starts at a user message (a leading assistant message is a turn of its own).
    const groups: ChatMessage[][] = [];
    for (const m of turns) {
      if (m.role === 'user' || groups.length === 0) groups.push([m]);
      else groups[groups.length - 1]!.push(m);
    }
    // null: the text alone is too long for the context (refused by length, before tokenizing).
    const encode = (drop: number): number[] | null => {
      try {
        return svc.encodeChat([...system, ...groups.slice(drop).flat()]);
      } catch (e) {
        if (e instanceof PromptTooLongError) return null;
        throw e;
      }
    };
    const fits = (t: number[] | null): t is number[] => t !== null && t.length <= budget;
    const budget = nCtx - Math.min(maxTokens, Math.floor(nCtx / 2));
    let drop = 0;
    let ids = encode(0);
    if (!fits(ids) && groups.length > 1) {
      // The fewest dropped turns that fit (the length falls as turns are dropped).
      // Invariant: dropping `hi` turns fits (or is the most we may drop: the last turn always stays).
      let lo = 1;
      let hi = groups.length - 1;
      let best = encode(hi);
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const t = encode(mid);
        if (fits(t)) {
          hi = mid;
          best = t;
        } else {
          lo = mid + 1;
        }
      }
      ids = best;
      drop = hi;
    }
    if (ids === null || ids.length >= nCtx) {
      const what = system.length ? 'the system prompt and this message' : 'this message';
      const size = ids === null ? 'are far too long,' : `take ${ids.length} tokens,`;
      throw new ApiError(`${what} ${size} but ${svc.info.name}'s context holds ${nCtx}; shorten it`, 'bad_request');
    }
    const note =
      drop > 0
        ? `The ${drop === 1 ? 'oldest turn was' : `${drop} oldest turns were`} left out of the prompt: the conversation is longer than the model's context (${nCtx} tokens).`
        : undefined;
    return { ids, droppedTurns: drop, note };
  }

  private newReply(svc: EngineService, conversationId: string, settings: ChatSettings, plan: PromptPlan): Message {
    return this.store.addMessage({
      conversationId,
      role: 'assistant',
      content: '',
      status: 'streaming',
      settings,
      note: plan.note,
      droppedTurns: plan.droppedTurns,
      model: { name: svc.info.name, path: svc.info.path, device: svc.info.deviceInfo },
    });
  }

  private startReply(svc: EngineService, conversationId: string, msg: Message, plan: PromptPlan, gen: GenerateSettings): void {
    const ac = new AbortController();
    const entry: ActiveReply = { conversationId, messageId: msg.id, ac, done: Promise.resolve(), reason: null, discard: false };
    this.active.set(conversationId, entry);
    const untrack = this.models.track(ac);
    // The conversation is free again before 'done' goes out, so a client may act on it at once.
    const release = () => {
      untrack();
      if (this.active.get(conversationId) === entry) this.active.delete(conversationId);
    };
    this.emitReply({ type: 'start', conversationId, messageId: msg.id, promptTokens: plan.ids.length, droppedTurns: plan.droppedTurns, note: plan.note });
    entry.done = this.runReply(svc, entry, plan, gen, release)
      .catch((e) => this.log(`reply ${msg.id} failed unexpectedly: ${(e as Error).stack ?? e}`))
      .finally(release);
  }

  private async runReply(svc: EngineService, entry: ActiveReply, plan: PromptPlan, gen: GenerateSettings, release: () => void): Promise<void> {
    const { messageId, conversationId } = entry;
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
      if (entry.discard) return;
      const now = Date.now();
      if (!force && now - lastPersist < this.persistIntervalMs) return;
      lastPersist = now;
      this.safeWrite(() => this.store.updateMessage(messageId, { content, tokenIds: ids.slice(), fates: fates.slice(), pieces: textOfToken.slice() }));
    };

    const flush = (all: boolean) => {
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
      lastFlush = Date.now();
      if (pendingRounds.length) {
        this.emitReply({ type: 'rounds', messageId, rounds: pendingRounds });
        pendingRounds = [];
      }
      if (ids.length > sent) {
        const pieces = textOfToken.slice(sent);
        this.emitReply({ type: 'tokens', messageId, text: pieces.join(''), ids: ids.slice(sent), fates: fates.slice(sent), pieces });
        sent = ids.length;
      }
      persist(all);
    };

    const schedule = () => {
      if (timer) return;
      const wait = Math.max(lastFlush + this.eventIntervalMs - Date.now(), 0);
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
      const r = await svc.generate(plan.ids, gen, { onToken, onRound, signal: entry.ac.signal, skipSpecial: true });
      // The decoder's last held-back bytes belong to the last token.
      if (r.text.length > content.length) {
        const tail = r.text.slice(content.length);
        content = r.text;
        textOfToken[textOfToken.length - 1] = (textOfToken[textOfToken.length - 1] ?? '') + tail;
      }
      flush(true);
      status = r.finishReason === 'cancelled' ? 'cancelled' : 'complete';
      let traceId: string | null = null;
      if (!entry.discard && r.ids.length > 0) {
        try {
          const trace = buildTrace(svc.info, gen, r);
          traceId = this.safeWrite(() =>
            this.store.putTrace(trace, { source: 'generated', name: `${svc.info.name} · ${gen.mode} · ${r.ids.length} tokens`, conversationId, messageId }),
          ) ?? null;
        } catch (e) {
          this.log(`the trace of reply ${messageId} could not be built: ${(e as Error).message}`);
        }
      }
      if (!entry.discard) {
        this.safeWrite(() =>
          this.store.updateMessage(messageId, {
            content,
            status,
            stats: r.stats,
            tokenIds: r.ids,
            fates: r.fates,
            pieces: textOfToken.slice(0, r.ids.length),
            traceId,
            ...(entry.reason && status === 'cancelled' ? { note: joinNotes(plan.note, entry.reason) } : {}),
          }),
        );
        this.safeWrite(() => this.store.touchConversation(conversationId));
        this.conversationUpdated(conversationId);
      }
      release();
      const note = entry.reason && status === 'cancelled' ? joinNotes(plan.note, entry.reason) : undefined;
      this.emitReply({ type: 'done', messageId, finishReason: r.finishReason, stats: r.stats, traceId, note });
    } catch (e) {
      if (timer) clearTimeout(timer);
      const aborted = entry.ac.signal.aborted;
      const message = aborted ? (entry.reason ?? 'stopped') : (e as Error).message;
      flush(true);
      if (!entry.discard) {
        this.safeWrite(() =>
          this.store.updateMessage(messageId, {
            content,
            status: aborted ? 'cancelled' : 'error',
            tokenIds: ids.slice(),
            fates: fates.slice(),
            error: aborted ? null : message,
            ...(aborted && entry.reason ? { note: joinNotes(plan.note, entry.reason) } : {}),
          }),
        );
      }
      release();
      if (aborted) {
        const note = entry.reason ? joinNotes(plan.note, entry.reason) : undefined;
        this.emitReply({ type: 'done', messageId, finishReason: 'cancelled', stats: emptyStats(gen, svc, plan.ids.length, ids.length), traceId: null, note });
      } else {
        this.log(`reply ${messageId}: ${message}`);
        this.emitReply({ type: 'error', messageId, message });
      }
    } finally {
      textOfToken = [];
    }
  }

  /** A store write that must not throw out of the reply loop (e.g. the store was closed on quit). */
  private safeWrite<T>(fn: () => T): T | undefined {
    if (!this.store.isOpen) return undefined;
    try {
      return fn();
    } catch (e) {
      this.log(`could not save: ${(e as Error).message}`);
      return undefined;
    }
  }

  // ---- models ----

  /** The loaded model, or the last one used (when it is still allowed and present), or the default. */
  ensureModel(): Promise<EngineService> {
    if (this.models.current) return Promise.resolve(this.models.current);
    // One load at a time from here (start-up warm-up and a first send may race).
    this.ensuring ??= this.loadUsualModel().finally(() => (this.ensuring = null));
    return this.ensuring;
  }

  private ensuring: Promise<EngineService> | null = null;

  private async loadUsualModel(): Promise<EngineService> {
    const last = this.store.getSetting<string>(LAST_MODEL_KEY);
    try {
      if (last && fs.existsSync(last) && this.isAllowed(last)) return await this.models.load(last);
      return await this.models.ensure();
    } catch (e) {
      const message = `the model could not be loaded: ${(e as Error).message}`;
      this.log(message);
      this.emitModel({ type: 'error', message });
      throw new ApiError(message, 'model_error');
    }
  }

  /** Loads the usual model in the background at start-up; problems are reported as model events. */
  warmUp(): void {
    this.ensureModel().catch(() => undefined);
  }

  private isAllowed(p: string): boolean {
    try {
      this.models.allowed(p);
      return true;
    } catch {
      return false;
    }
  }

  private async loadModel(p: string): Promise<ModelInfo> {
    let full: string;
    try {
      full = this.models.allowed(p);
    } catch (e) {
      this.emitModel({ type: 'error', message: (e as Error).message });
      throw new ApiError((e as Error).message, 'bad_request');
    }
    try {
      const svc = await this.models.load(full);
      this.remember(full);
      return svc.info;
    } catch (e) {
      if (e instanceof ModelBusyError) throw new ApiError(e.message, 'busy');
      const message = `${path.basename(full)} could not be loaded: ${(e as Error).message}`;
      this.log(`model load failed: ${full}: ${(e as Error).message}`);
      this.emitModel({ type: 'error', message });
      throw new ApiError(message, 'model_error');
    }
  }

  private remember(p: string): void {
    const recent = (this.store.getSetting<string[]>(RECENT_MODELS_KEY) ?? []).filter((x) => x !== p);
    recent.unshift(p);
    this.store.setSetting(RECENT_MODELS_KEY, recent.slice(0, 10));
    this.store.setSetting(LAST_MODEL_KEY, p);
  }

  private listModels(): ResponseOf<'models:list'> {
    const items = this.models.list();
    const seen = new Set(items.map((m) => path.resolve(m.path)));
    const cur = this.models.current?.info.path;
    for (const p of this.store.getSetting<string[]>(RECENT_MODELS_KEY) ?? []) {
      const full = path.resolve(p);
      if (seen.has(full) || !this.isAllowed(full)) continue;
      let st: fs.Stats;
      try {
        st = fs.statSync(full);
      } catch {
        continue;
      }
      seen.add(full);
      const kind = st.isDirectory() ? 'hf' : 'gguf';
      items.push({ name: path.basename(full).replace(/\.gguf$/i, ''), path: full, kind, bytes: st.isFile() ? st.size : 0, loaded: cur !== undefined && path.resolve(cur) === full });
    }
    return items;
  }

  // ---- traces and exports ----

  private importTrace(text: string, fileName?: string): ResponseOf<'trace:import'> {
    let trace;
    try {
      trace = parseTrace(text, 'the imported file');
    } catch (e) {
      if (e instanceof TraceError) throw new ApiError(e.message, 'bad_request');
      throw e;
    }
    const name = `${fileName?.trim() || 'imported'} · ${trace.model.name} · ${trace.config.mode}`;
    const traceId = this.store.putTrace(trace, { source: 'imported', name });
    this.emitApp({ type: 'trace-imported', traceId, name });
    return { traceId, trace };
  }

  /** In Electron, export channels show a save dialog; in the browser, the file goes back to download. */
  private async deliver(file: ExportedFile): Promise<ExportedFile> {
    if (!this.host.saveFile) return file;
    const savedTo = await this.host.saveFile(file);
    return savedTo ? { filename: file.filename, mimeType: file.mimeType, savedTo } : { filename: file.filename, mimeType: file.mimeType, cancelled: true };
  }

  // ---- shutdown ----

  /** Stops every reply (kept as 'cancelled'), waits for them to be stored, and detaches from the models. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const a of this.active.values()) {
      a.reason ??= 'Stopped: the app was closing.';
      a.ac.abort();
    }
    await this.waitIdle();
    this.detach();
    this.events.removeAllListeners();
  }
}

function toChat(messages: Message[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of messages) {
    if (m.role === 'user') out.push({ role: 'user', content: m.content });
    // Replies that were stopped or interrupted still count: the user saw them.
    else if (m.role === 'assistant' && m.content.trim().length > 0) out.push({ role: 'assistant', content: m.content });
  }
  return out;
}

function titleFrom(content: string): string {
  const line = content.trim().split('\n')[0]!.trim();
  return line.length > 60 ? `${line.slice(0, 57).trimEnd()}…` : line || DEFAULT_TITLE;
}

function joinNotes(a: string | undefined, b: string): string {
  return a ? `${a} ${b}` : b;
}

function checkSettings(s: unknown): ChatSettings {
  const r = settingsSchema.safeParse(s);
  if (!r.success) throw new ApiError(`settings: ${formatIssues(r.error.issues)}`, 'bad_request');
  return r.data;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

interface Issue {
  path: PropertyKey[];
  message: string;
}

export function formatIssues(issues: readonly Issue[]): string {
  const shown = issues.slice(0, 3).map((i) => `${i.path.map(String).join('.') || '(payload)'}: ${i.message}`);
  if (issues.length > 3) shown.push(`and ${issues.length - 3} more`);
  return shown.join('; ');
}

/** Validates a payload with its channel's schema; a bad one gets ApiError('bad_request') naming the fields. */
export function parsePayload<C extends Channel>(channel: C, payload: unknown): RequestOf<C> {
  const r = requests[channel].safeParse(payload === undefined || payload === null ? {} : payload);
  if (!r.success) throw new ApiError(`${channel}: invalid request: ${formatIssues(r.error.issues)}`, 'bad_request');
  return r.data as RequestOf<C>;
}

function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof StoreError) return new ApiError(e.message, e.code === 'not_found' ? 'not_found' : 'bad_request');
  if (e instanceof TraceError || e instanceof SettingsError) return new ApiError(e.message, 'bad_request');
  return new ApiError(e instanceof Error ? e.message : String(e), 'internal');
}

function emptyStats(gen: GenerateSettings, svc: EngineService, nPrompt: number, nGenerated: number) {
  const spec = gen.mode !== 'ar';
  return {
    mode: gen.mode, backend: svc.info.backend, n_prompt: nPrompt, n_reused: 0, n_generated: nGenerated, prefill_ms: 0, decode_ms: 0,
    tokens_per_s: 0, ttft_ms: 0, rounds: spec ? 0 : null, drafted: spec ? 0 : null, accepted: spec ? 0 : null,
    mean_accepted_length: null, acceptance_rate: null, dp_runs: spec ? 0 : null, dp_ms: spec ? 0 : null,
    backend_reason: svc.info.backendReason, policy: null, fallback: false, final_M: null,
  };
}

