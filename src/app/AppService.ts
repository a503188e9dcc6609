// Everything the app does behind the UI, as a plain Node module: the Electron main process calls it
// over IPC, and `clasp serve` over HTTP (src/server/uiRoutes.ts). It has no `electron` import; the
// few things only a desktop shell can do (a save dialog) come in through `AppHost`.
//
// Every request is validated with the zod schema of its channel (src/shared/api.ts) before use
// (apiErrors.ts). A reply's prompt is planned in promptPlan.ts; each running reply is a ReplyStream,
// which streams it as ReplyEvents (appEvents.ts) and writes it to the store as it grows.
import * as path from 'node:path';
import {
  requests,
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
import type { ModelInfo } from '../shared/engineTypes';
import { applySettingsPatch, defaultChatSettings } from '../shared/settings';
import type { EngineService } from '../services/EngineService';
import { ModelBusyError, type LoadProgress, type ModelManager } from '../services/ModelManager';
import { stripUndefined, type ValidSettings } from '../services/settings';
import type { ChatMessage } from '../services/text/chatTemplate';
import type { SessionStore } from '../sessions/SessionStore';
import { ApiError, checkSettings, parsePayload, toApiError } from './apiErrors';
import { AppEvents } from './appEvents';
import { exportChat, exportTrace } from './exporters';
import { forgetPolicy } from './policyActions';
import { decodeTokens, deleteStandaloneTrace, importTrace, requireTrace } from './traceActions';
import { cancelCompare, CompareJob, startCompare, type CompareHost } from './compareModes';
import { runLab } from './layerLab';
import { planPrompt, toChat, type PromptPlan } from './promptPlan';
import { addReplyRow, ReplyStream, replySettings, type ReplyContext } from './ReplyStream';
import { deleteVersion, regenerate, selectVersion, type ReplyHost } from './replyVersions';
import { DEFAULT_TITLE, titleFrom } from './titles';

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

type Handlers = { [C in Channel]: (p: RequestOf<C>) => Promise<ResponseOf<C>> | ResponseOf<C> };

export class AppService implements ReplyHost, CompareHost {
  readonly models: ModelManager;
  readonly store: SessionStore;
  private readonly host: AppHost;
  private readonly events: AppEvents;
  /** the running reply of each conversation that has one */
  private readonly active = new Map<string, ReplyStream>();
  /** the running "Compare modes" job of each conversation that has one */
  private readonly compares = new Map<string, CompareJob>();
  private readonly replyContext: ReplyContext;
  private readonly log: (msg: string) => void;
  private readonly detach: () => void;
  private closed = false;

  constructor(opts: AppServiceOptions) {
    this.models = opts.models;
    this.store = opts.store;
    this.host = opts.host ?? {};
    this.log = opts.log ?? ((m) => process.stderr.write(`[clasp app] ${m}\n`));
    this.events = new AppEvents(this.log);
    this.replyContext = {
      store: this.store,
      emit: (e) => this.events.emit('reply', e),
      conversationUpdated: (id) => this.conversationUpdated(id),
      log: this.log,
      eventIntervalMs: opts.eventIntervalMs ?? 40,
      persistIntervalMs: opts.persistIntervalMs ?? 250,
    };

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
    return this.events.on('reply', cb);
  }

  onModelEvent(cb: (e: ModelEvent) => void): () => void {
    return this.events.on('model', cb);
  }

  onAppEvent(cb: (e: AppEvent) => void): () => void {
    return this.events.on('app', cb);
  }

  private emitModel(e: ModelEvent): void {
    this.events.emit('model', e);
  }

  /** Emits an app event (the Electron menu uses this to tell the renderer what it did). */
  emitApp(e: AppEvent): void {
    this.events.emit('app', e);
  }

  /** Tells every window that a conversation's row changed behind a request (its title, its last activity). */
  conversationUpdated(id: string): void {
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
    'chat:regenerate': (p) => regenerate(this, p.conversationId, p.tryAnyway === true),
    'chat:version': (p) => selectVersion(this, p.conversationId, p.messageId),
    'chat:version-delete': (p) => deleteVersion(this, p.conversationId, p.messageId),
    'compare:start': (p) => startCompare(this, p),
    'compare:cancel': (p) => cancelCompare(this.compares.values(), p.jobId),
    'chat:stop': (p) => this.stop(p.conversationId),
    'models:list': () => this.models.catalogue(this.store),
    'models:load': (p) => this.loadModel(p.path),
    'models:browse': (p) => this.models.browse(p.path),
    'models:current': () => {
      const engine = this.models.current;
      return engine ? { info: engine.info, defaults: { ...engine.defaults } } : null;
    },
    'trace:get': (p) => requireTrace(this.store, p.traceId),
    'trace:import': (p) => importTrace(this.store, p.text, p.name, (e) => this.emitApp(e)),
    'export:chat': (p) => {
      const conv = this.requireConversation(p.conversationId);
      return this.deliver(exportChat(conv, this.store.listMessages(conv.id), p.format));
    },
    'export:trace': (p) => this.deliver(exportTrace(p.traceId, requireTrace(this.store, p.traceId), p.format)),
    'traces:list': () => this.store.listTraces(),
    'chat:count': (p) => this.countPrompt(p.conversationId, p.content),
    'tokens:decode': (p) => decodeTokens(this.models.current, p.ids),
    'trace:delete': (p) => deleteStandaloneTrace(this.store, p.traceId),
    'policy:forget': () => forgetPolicy(this.models.current, this.log),
    'lab:run': (p) => runLab({ store: this.store, engine: () => this.ensureModel() }, p),
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
      await a.stop();
    }
    await this.compares.get(id)?.cancel();
    const deleted = this.store.deleteConversation(id);
    if (deleted) this.emitApp({ type: 'conversation-deleted', conversationId: id });
    return { deleted };
  }

  // ---- chat ----

  assertIdle(conversationId: string): void {
    if (this.active.has(conversationId)) {
      throw new ApiError('a reply is still being written in this conversation; stop it first (chat:stop)', 'busy');
    }
    if (this.compares.has(conversationId)) throw new ApiError('"Compare modes" is running in this conversation; cancel it first (compare:cancel)', 'busy');
  }

  /** The conversation, with no reply running, and the model to answer with (the usual one is loaded if none is). */
  async ready(conversationId: string): Promise<{ conv: Conversation; engine: EngineService }> {
    this.assertIdle(this.requireConversation(conversationId).id);
    const engine = await this.ensureModel();
    const conv = this.requireConversation(conversationId); // it may have changed while the model loaded
    this.assertIdle(conv.id);
    return { conv, engine };
  }

  private async send(p: RequestOf<'chat:send'>): Promise<ResponseOf<'chat:send'>> {
    const { conv, engine } = await this.ready(p.conversationId);
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
    const { gen, chat, plan } = this.prepare(engine, conv, [...toChat(base), { role: 'user', content: p.content }]);

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
      assistantMessage = addReplyRow(this.store, engine, conv.id, chat, plan);
      if (conv.title === DEFAULT_TITLE && base.length === 0) {
        this.store.updateConversation(conv.id, { title: titleFrom(p.content) });
      }
    });
    this.conversationUpdated(conv.id);
    this.startReply(engine, conv.id, assistantMessage, plan, gen);
    return { userMessage, assistantMessage, promptTokens: plan.ids.length, droppedTurns: plan.droppedTurns };
  }

  /** chat:send's prompt plan without sending: the composer's context meter counts what the server will. */
  private countPrompt(conversationId: string, content: string): ResponseOf<'chat:count'> {
    const conv = this.requireConversation(conversationId);
    const engine = this.models.current;
    if (!engine) return { promptTokens: null, nCtx: null, droppedTurns: 0, fits: true };
    const turns = [...toChat(this.store.listMessages(conv.id)), { role: 'user' as const, content }];
    try {
      const { plan } = this.prepare(engine, conv, turns);
      return { promptTokens: plan.ids.length, nCtx: engine.info.nCtx, droppedTurns: plan.droppedTurns, fits: true };
    } catch (e) {
      if (e instanceof ApiError && e.code === 'bad_request') return { promptTokens: null, nCtx: engine.info.nCtx, droppedTurns: 0, fits: false, reason: e.message };
      throw e;
    }
  }

  private async stop(conversationId: string): Promise<ResponseOf<'chat:stop'>> {
    const a = this.active.get(conversationId);
    if (!a) return { stopped: false, messageId: null };
    await a.stop();
    return { stopped: true, messageId: a.messageId };
  }

  /** Resolves when the conversation's reply (if any) has finished and been stored. */
  async waitIdle(conversationId?: string): Promise<void> {
    const list = conversationId ? [this.active.get(conversationId), this.compares.get(conversationId)] : [...this.active.values(), ...this.compares.values()];
    await Promise.all(list.map((a) => a?.done));
  }

  /** A reply's settings (checked against the model) and its prompt; throws ApiError before anything is stored. */
  prepare(engine: EngineService, conv: Conversation, turns: ChatMessage[]): { gen: ValidSettings; chat: ChatSettings; plan: PromptPlan } {
    const { gen, chat } = replySettings(engine, conv.settings);
    const { nCtx, name } = engine.info;
    const plan = planPrompt({ systemPrompt: conv.systemPrompt, turns, maxTokens: gen.maxTokens, nCtx, modelName: name, encodeChat: (m) => engine.encodeChat(m) });
    return { gen, chat, plan };
  }

  startReply(engine: EngineService, conversationId: string, msg: Message, plan: PromptPlan, gen: ValidSettings): void {
    const reply = new ReplyStream(this.replyContext, engine, conversationId, msg.id, plan, gen);
    this.active.set(conversationId, reply);
    const untrack = this.models.track(reply.ac);
    reply.start(() => {
      untrack();
      if (this.active.get(conversationId) === reply) this.active.delete(conversationId);
    });
  }

  runCompare(job: CompareJob): void {
    const id = job.spec.conversationId;
    this.compares.set(id, job);
    const untrack = this.models.track(job.ac);
    job.start(() => {
      untrack();
      if (this.compares.get(id) === job) this.compares.delete(id);
    });
  }

  // ---- models ----

  /** The loaded model, or the usual one (ModelManager.ensure: the last one picked, or the default). */
  private async ensureModel(): Promise<EngineService> {
    try {
      return await this.models.ensure(this.store);
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

  private async loadModel(p: string): Promise<ModelInfo> {
    let full: string;
    try {
      full = this.models.allowed(p);
    } catch (e) {
      this.emitModel({ type: 'error', message: (e as Error).message });
      throw new ApiError((e as Error).message, 'bad_request');
    }
    try {
      return (await this.models.choose(full, this.store)).info;
    } catch (e) {
      if (e instanceof ModelBusyError) throw new ApiError(e.message, 'busy');
      const message = `${path.basename(full)} could not be loaded: ${(e as Error).message}`;
      this.log(`model load failed: ${full}: ${(e as Error).message}`);
      this.emitModel({ type: 'error', message });
      throw new ApiError(message, 'model_error');
    }
  }

  // ---- traces and exports ----

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
    await Promise.all([...this.active.values()].map((a) => a.stop('Stopped: the app was closing.')));
    await Promise.all([...this.compares.values()].map((j) => j.cancel()));
    this.detach();
    this.events.clear();
  }
}
