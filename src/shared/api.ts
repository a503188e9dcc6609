// The app's API: one channel map shared by the Electron preload (IPC) and the browser client (HTTP +
// server-sent events against `clasp serve`). Every request payload is validated with these zod
// schemas in the main process / server before use.
import { z } from 'zod';
import type { GenerationStats, ModelInfo, RoundEvent, FinishReason, TokenFate } from './engineTypes';
import { MODE_VALUES, NUMBER_SETTINGS, type NumberSetting, type SamplingDefaults } from './settings';
import type { Trace } from './trace';
import { COMPARE_LIMITS, type CompareEvent } from './compare';

/** A zod number schema for one row of the settings table (src/shared/settings.ts). */
export function numberSettingSchema(s: NumberSetting) {
  const n = s.int ? z.number().int() : z.number();
  return (s.minExclusive ? n.gt(s.min) : n.min(s.min)).max(s.max);
}

const S = NUMBER_SETTINGS;
/** A conversation's generation settings: ranges from the settings table. */
export const settingsSchema = z.object({
  mode: z.enum(MODE_VALUES),
  skip: z.union([z.literal('auto'), numberSettingSchema(S.skip)]),
  skipRatio: numberSettingSchema(S.skipRatio).optional(),
  /** absent: chosen from the cost table (docs/NUMBERS.md) */
  det: numberSettingSchema(S.det).optional(),
  maxDraft: numberSettingSchema(S.maxDraft),
  /** absent: chosen so the DP's share stays at or below 5% */
  loi: numberSettingSchema(S.loi).optional(),
  temperature: numberSettingSchema(S.temperature),
  topP: numberSettingSchema(S.topP),
  topK: numberSettingSchema(S.topK),
  seed: numberSettingSchema(S.seed),
  maxTokens: numberSettingSchema(S.maxTokens),
  /**
   * (added by the backend) true: every reply uses `seed`. false or absent: each reply draws a fresh
   * seed, so regenerating gives a new sample; the seed used is recorded in the reply's settings.
   */
  fixedSeed: z.boolean().optional(),
});
export type ChatSettings = z.infer<typeof settingsSchema>;

/**
 * A change to a conversation's settings; null clears an optional setting (JSON has no undefined):
 * `skipRatio: null` turns the ratio off, `det: null` and `loi: null` leave them automatic again.
 */
export const settingsPatchSchema = settingsSchema.partial().extend({
  skipRatio: numberSettingSchema(S.skipRatio).nullable().optional(),
  det: numberSettingSchema(S.det).nullable().optional(),
  loi: numberSettingSchema(S.loi).nullable().optional(),
});
export type SettingsPatch = z.infer<typeof settingsPatchSchema>;


export interface Conversation {
  id: string;
  title: string;
  systemPrompt: string;
  settings: ChatSettings;
  createdAt: number;
  updatedAt: number;
}

export type MessageStatus = 'complete' | 'streaming' | 'interrupted' | 'error' | 'cancelled';

export interface Message {
  id: string;
  conversationId: string;
  role: 'user' | 'assistant' | 'system';
  content: string;
  status: MessageStatus;
  createdAt: number;
  /** assistant replies: the settings they ran with, their stats, token ids and per-token fate */
  settings?: ChatSettings;
  stats?: GenerationStats;
  tokenIds?: number[];
  /** per generated token: 'accepted' (an accepted draft), 'correction', 'bonus', or 'plain' (ar) */
  fates?: TokenFate[];
  /** the text of each token in tokenIds (special tokens give "") */
  pieces?: string[];
  traceId?: string;
  error?: string;
  /** (added) something the user should know about this reply, e.g. that the oldest turns were left out. */
  note?: string;
  /** (added) how many of the oldest turns were left out of this reply's prompt to fit the context. */
  droppedTurns?: number;
  /** (added) the model that wrote this reply, and where it ran. */
  model?: { name: string; path: string; device: string };
  /** (added) a regenerated reply's versions, oldest first (present when it has more than one); `index`: this one's */
  versions?: { ids: string[]; index: number };
}

export type { TokenFate } from './engineTypes';

/** Events streamed while a reply is generated (IPC 'reply:event' or SSE on /api/ui/events). */
export type ReplyEvent =
  | {
      type: 'start';
      conversationId: string;
      messageId: string;
      promptTokens: number;
      droppedTurns: number;
      /** (added) the reply's note, as stored (e.g. that the oldest turns were left out) */
      note?: string;
    }
  | { type: 'tokens'; messageId: string; text: string; ids: number[]; fates: TokenFate[]; pieces?: string[] }
  | { type: 'rounds'; messageId: string; rounds: RoundEvent[] }
  | {
      type: 'done';
      messageId: string;
      finishReason: FinishReason;
      stats: GenerationStats;
      traceId: string | null;
      /** (added) the reply's note as stored at the end (e.g. why it was stopped), when it has one */
      note?: string;
    }
  | { type: 'error'; messageId: string; message: string };

export type ModelEvent =
  | { type: 'progress'; path: string; fraction: number; message: string }
  | { type: 'loaded'; info: ModelInfo }
  | { type: 'error'; message: string };

/**
 * (added) App-level events: what the Electron menu did (so the renderer can follow), and changes to
 * the conversation list made elsewhere (another tab, the menu).
 */
export type AppEvent =
  | { type: 'conversation-created'; conversation: Conversation }
  | { type: 'conversation-deleted'; conversationId: string }
  /** (added) a conversation's stored row changed behind a request: a title from the first message, a reply that ended */
  | { type: 'conversation-updated'; conversation: Conversation }
  | { type: 'trace-imported'; traceId: string; name: string }
  /** (added) a "Compare modes" run: progress, its result, or why it failed */
  | CompareEvent;

export const idSchema = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);

/** Request payloads, validated on receipt. */
export const requests = {
  'conversations:list': z.object({}),
  'conversations:create': z.object({ title: z.string().max(200).optional(), systemPrompt: z.string().max(20_000).optional(), settings: settingsSchema.partial().optional() }),
  'conversations:update': z.object({ id: idSchema, title: z.string().min(1).max(200).optional(), systemPrompt: z.string().max(20_000).optional(), settings: settingsPatchSchema.optional() }),
  'conversations:delete': z.object({ id: idSchema }),
  'messages:list': z.object({ conversationId: idSchema }),
  /** Sends a user message (or regenerates / edits) and starts streaming the reply. */
  'chat:send': z.object({ conversationId: idSchema, content: z.string().min(1).max(200_000), editOf: idSchema.optional() }),
  /** (added) tryAnyway: speculate in this reply whatever the policy predicts (modes clasp and static with skip auto) */
  'chat:regenerate': z.object({ conversationId: idSchema, tryAnyway: z.boolean().optional() }),
  'chat:stop': z.object({ conversationId: idSchema }),
  'models:list': z.object({}),
  'models:load': z.object({ path: z.string().min(1).max(4096) }),
  'models:current': z.object({}),
  /** The browser's "Open model…": one folder inside the allowed folders (absent: those folders). */
  'models:browse': z.object({ path: z.string().min(1).max(4096).optional() }),
  'trace:get': z.object({ traceId: idSchema }),
  'trace:import': z.object({ text: z.string().max(200 * 1024 * 1024), name: z.string().max(200).optional() }),
  'export:chat': z.object({ conversationId: idSchema, format: z.enum(['markdown', 'json']) }),
  'export:trace': z.object({ traceId: idSchema, format: z.enum(['json', 'specbench', 'csv']) }),
  // (added) the stored traces (generated and imported), newest first; deleting an imported one.
  'traces:list': z.object({}),
  'trace:delete': z.object({ traceId: idSchema }),
  'tokens:decode': z.object({ ids: z.array(z.number().int().min(0)).max(100_000) }),
  'chat:count': z.object({ conversationId: idSchema, content: z.string().max(200_000) }),
  /** (added) forgets what the CLaSp policy learned on the loaded model and this machine */
  'policy:forget': z.object({}),
  // (added) reply versions: show another version of a reply; delete one (not the last one left).
  'chat:version': z.object({ conversationId: idSchema, messageId: idSchema }),
  'chat:version-delete': z.object({ conversationId: idSchema, messageId: idSchema }),
  // (added) "Compare modes": the prompt of reply `messageId` in ar, static and clasp, `repeats` times each.
  'compare:start': z.object({
    conversationId: idSchema,
    messageId: idSchema,
    repeats: z.number().int().min(COMPARE_LIMITS.repeats.min).max(COMPARE_LIMITS.repeats.max),
    maxTokens: z.number().int().min(COMPARE_LIMITS.maxTokens.min).max(COMPARE_LIMITS.maxTokens.max).optional(),
    /** default true: temperature 0, so every mode must write the same text */
    greedy: z.boolean().optional(),
  }),
  'compare:cancel': z.object({ jobId: idSchema }),
  /**
   * (added) The layer lab: re-runs a stored trace's prompt (its seed, sampling and length) with a
   * given skip set (static skipping with exactly `skipLayers`) or with CLaSp at a fixed M (`claspM`);
   * exactly one of the two. The original is left as it was; the run is kept as a stand-alone trace.
   */
  'lab:run': z
    .object({
      traceId: idSchema,
      skipLayers: z.array(z.number().int().min(0).max(1023)).min(1).max(1024).optional(),
      claspM: z.number().int().min(1).max(1023).optional(),
    })
    .refine((p) => (p.skipLayers === undefined) !== (p.claspM === undefined), { message: 'give skipLayers or claspM, exactly one' }),
} as const;

export type Channel = keyof typeof requests;

/**
 * (added) Electron IPC channel names: one invoke channel carries every request as (channel, payload)
 * and answers {ok: true, result} or {ok: false, error: ApiErrorInfo}; events go the other way.
 */
export const IPC = {
  call: 'clasp:call',
  replyEvent: 'clasp:reply-event',
  modelEvent: 'clasp:model-event',
  appEvent: 'clasp:app-event',
} as const;

export type IpcResult = { ok: true; result: unknown } | { ok: false; error: ApiErrorInfo };
export type RequestOf<C extends Channel> = z.infer<(typeof requests)[C]>;

/**
 * (added) What export:chat and export:trace return. In the browser: the file's `content`, for the
 * renderer to download. In Electron the main process shows a save dialog itself and returns
 * `savedTo` (the path written) or `cancelled: true`, without `content`.
 */
export interface ExportedFile {
  filename: string;
  mimeType: string;
  content?: string;
  savedTo?: string;
  cancelled?: boolean;
}

export interface ModelListItem {
  name: string;
  path: string;
  kind: 'gguf' | 'hf';
  bytes: number;
  loaded: boolean;
  /** picked by the user lately (the list holds these first, most recent first, after the loaded model) */
  recent: boolean;
  /** where it was found (absent: the bundled model or a recent one) */
  source?: 'models-dir' | 'lmstudio' | 'ollama' | 'hf-cache';
  /** from the file's header: architecture and quantisation (GGUF file type, or the safetensors dtype) */
  arch?: string | null;
  quant?: string | null;
  /** false: this engine cannot run it, for `reason` */
  supported?: boolean;
  reason?: string;
}

/** One row of the "Open model…" dialog: a folder to open, or a model described from its header. */
export interface ModelFolderEntry {
  name: string;
  path: string;
  type: 'folder' | 'model';
  kind?: 'gguf' | 'hf';
  bytes: number;
  arch?: string | null;
  quant?: string | null;
  /** false: cannot be opened, for `reason` (a model this engine cannot run, a link leading outside) */
  supported?: boolean;
  reason?: string;
}

/** What `models:browse` lists. */
export interface ModelFolder {
  /** the folder listed; null: the allowed folders themselves */
  path: string | null;
  /** where it is, for the user: "LM Studio / publisher / repo" (null at the top) */
  label: string | null;
  /** the folder above while it is inside the same allowed folder; null: the top comes next */
  parent: string | null;
  entries: ModelFolderEntry[];
  /** more entries than one listing returns: the first ones are shown */
  truncated: boolean;
}

/**
 * Where a stored trace came from: a reply's own ('generated', it goes with the reply), a file the user
 * imported, a layer-lab run, or a "Compare modes" run. The last three stand alone: listed under their
 * own heading in the inspector's trace list, and deleted there.
 */
export const TRACE_SOURCES = ['generated', 'imported', 'lab', 'compare'] as const;
export type TraceSource = (typeof TRACE_SOURCES)[number];
export type StandaloneTraceSource = Exclude<TraceSource, 'generated'>;

export interface TraceListItem {
  id: string;
  name: string;
  source: TraceSource;
  conversationId: string | null;
  messageId: string | null;
  createdAt: number;
}

/** (added) What each channel resolves to. */
export interface Responses {
  'conversations:list': Conversation[];
  'conversations:create': Conversation;
  'conversations:update': Conversation;
  'conversations:delete': { deleted: boolean };
  'messages:list': Message[];
  /** Resolves once the reply has started (rows stored, 'start' emitted); the reply streams as ReplyEvents. */
  'chat:send': { userMessage: Message; assistantMessage: Message; promptTokens: number; droppedTurns: number };
  'chat:regenerate': { assistantMessage: Message; promptTokens: number; droppedTurns: number };
  /** Resolves after the reply has stopped and been stored as 'cancelled' (stopped: false when none ran). */
  'chat:stop': { stopped: boolean; messageId: string | null };
  'models:list': ModelListItem[];
  'models:load': ModelInfo;
  'models:current': { info: ModelInfo; defaults: SamplingDefaults } | null;
  'models:browse': ModelFolder;
  'trace:get': Trace;
  'trace:import': { traceId: string; trace: Trace };
  'export:chat': ExportedFile;
  'export:trace': ExportedFile;
  'traces:list': TraceListItem[];
  'trace:delete': { deleted: boolean };
  /** each id's text with the loaded model's tokenizer (null: outside its vocabulary); model: its name */
  'tokens:decode': { model: string; pieces: (string | null)[] };
  /**
   * What sending `content` now would put in the prompt, counted exactly as chat:send counts it (the
   * chat template, the system prompt, older turns left out to fit). fits false: chat:send would
   * refuse it, for `reason`. Null counts: no model is loaded yet.
   */
  'chat:count': { promptTokens: number | null; nCtx: number | null; droppedTurns: number; fits: boolean; reason?: string };
  /**
   * The acceptance counts of every mode and the cost table are gone (the costs are measured again at
   * the next speculative reply), and the kept file with them. forgotten false: no model is loaded.
   */
  'policy:forget': { forgotten: boolean; model: string | null };
  /** the version now shown (with `versions`) */
  'chat:version': Message;
  /** `shown`: the version shown afterwards */
  'chat:version-delete': { deleted: boolean; shown: Message | null };
  /** resolves at once; progress and the result come as app events (compare-progress, compare-done) */
  'compare:start': { jobId: string; total: number };
  'compare:cancel': { cancelled: boolean };
  /** identical: the run's token ids equal the original's (null: the original has none recorded) */
  'lab:run': { traceId: string; name: string; trace: Trace; identical: boolean | null };
}
export type ResponseOf<C extends Channel> = Responses[C];

/** Errors thrown by `call`: `code` says what kind (bad_request, not_found, busy, unknown_channel, ...). */
export interface ApiErrorInfo {
  message: string;
  code: string;
  status: number;
}

/** What the renderer can call: lib/client.ts builds it on the preload (Electron) or on HTTP + SSE (browser). */
export interface ClaspApi {
  /** Resolves to the channel's response; rejects with an error carrying `code` and `status` (ApiErrorInfo). */
  call<C extends Channel>(channel: C, payload: RequestOf<C>): Promise<ResponseOf<C>>;
  onReplyEvent(cb: (e: ReplyEvent) => void): () => void;
  onModelEvent(cb: (e: ModelEvent) => void): () => void;
  /** Menu actions and changes made outside this window (another tab, the menu, a reply that ended). */
  onAppEvent(cb: (e: AppEvent) => void): () => void;
  /** Where the app runs: 'electron' (save dialogs) or 'browser' (downloads). */
  readonly shell: 'electron' | 'browser';
}

/**
 * What the Electron preload exposes as `window.clasp`. `invoke` never throws: Errors lose their own
 * fields crossing the context bridge, so failures come back as {ok: false, error: {message, code, status}}.
 */
export interface PreloadApi {
  readonly shell: 'electron';
  invoke<C extends Channel>(channel: C, payload: RequestOf<C>): Promise<IpcResult>;
  onReplyEvent(cb: (e: ReplyEvent) => void): () => void;
  onModelEvent(cb: (e: ModelEvent) => void): () => void;
  onAppEvent(cb: (e: AppEvent) => void): () => void;
}
