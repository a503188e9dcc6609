// The renderer's state: one zustand store made of slices (conversations, chat, model, inspector,
// ui). API listeners change it only through the slices' actions.
import type { StateCreator } from 'zustand';
import type { AppEvent, Conversation, SettingsPatch, StandaloneTraceSource, TraceListItem, Message, ModelEvent, ModelListItem, ReplyEvent } from '@shared/api';
import type { SamplingDefaults } from '@shared/settings';
import type { CompareEvent, CompareResult } from '@shared/compare';
import type { GenerationStats, ModelInfo, RoundEvent } from '@shared/engineTypes';
import type { Trace } from '@shared/trace';
import type { RoundsBuffer } from '../lib/rounds';

export interface ConversationsSlice {
  conversations: Conversation[];
  conversationsLoaded: boolean;
  activeId: string | null;
  loadConversations(): Promise<void>;
  selectConversation(id: string | null): Promise<void>;
  newChat(): Promise<Conversation | null>;
  renameConversation(id: string, title: string): Promise<void>;
  deleteConversation(id: string): Promise<void>;
  updateSystemPrompt(id: string, systemPrompt: string): Promise<void>;
  updateSettings(id: string, patch: SettingsPatch): Promise<void>;
  /** Menu actions and changes made elsewhere: created, updated, deleted conversations, an imported trace. */
  applyAppEvent(e: AppEvent): void;
}

export interface ActiveReply {
  conversationId: string;
  messageId: string;
}

export interface ChatSlice {
  messages: Record<string, Message[]>;
  activeReply: ActiveReply | null;
  /** a send is in flight and its reply has not started yet */
  sending: string | null;
  loadMessages(conversationId: string): Promise<void>;
  send(content: string): Promise<boolean>;
  editAndResend(messageId: string, content: string): Promise<boolean>;
  /** tryAnyway: speculate in the new reply whatever the policy predicts */
  regenerate(opts?: { tryAnyway?: boolean }): Promise<void>;
  stop(): Promise<void>;
  applyReplyEvents(events: ReplyEvent[]): void;
}

export interface LoadState {
  path: string;
  fraction: number;
  message: string;
}

export interface ModelSlice {
  models: ModelListItem[];
  current: ModelInfo | null;
  /** the loaded model's sampling defaults (its generation_config.json) */
  modelDefaults: SamplingDefaults | null;
  modelLoad: LoadState | null;
  refreshModels(): Promise<void>;
  loadModel(path: string): Promise<void>;
  applyModelEvent(e: ModelEvent): void;
}

export type InspectorSource =
  | { kind: 'message'; messageId: string; conversationId: string }
  /** a trace that is no reply's own: an imported file, or a stored layer-lab or compare-modes run (origin; absent: a file) */
  | { kind: 'import'; key: string; name: string; traceId?: string; origin?: StandaloneTraceSource };

export interface InspectorSlice {
  /** round buffers by key: an assistant message id, or 'import:N' */
  buffers: Record<string, RoundsBuffer>;
  /** whole traces (loaded with trace:get or imported), by the same keys */
  traces: Record<string, Trace>;
  source: InspectorSource | null;
  /** the latest imported trace, so the user can return to it after a live reply took the view */
  lastImport: Extract<InspectorSource, { kind: 'import' }> | null;
  /** bumps when the shown buffer changes, so canvases redraw */
  inspectorVersion: number;
  /** replay: how many rounds to show (null: all) */
  cursor: number | null;
  replaying: boolean;
  /** recorded time × this = replay time (1: as it happened) */
  replaySpeed: number;
  setReplaySpeed(v: number): void;
  selectedRound: number | null;
  hover: { round: number; layer: number | null } | null;
  simMetric: 'path' | 'layer';
  importError: string | null;
  traceLoading: boolean;
  appendRounds(messageId: string, rounds: RoundEvent[]): void;
  /** shows a reply that just started, unless an imported trace is on screen */
  followLive(messageId: string, conversationId: string): void;
  inspectMessage(message: Message, round?: number | null): Promise<void>;
  importTraceText(text: string, name: string): boolean;
  showImport(): void;
  /** shows a trace the backend stored (an import made from the Electron menu) */
  showStoredTrace(traceId: string, name: string, opts?: { fromEvent?: boolean; origin?: StandaloneTraceSource }): Promise<void>;
  selectRound(r: number | null): void;
  setHover(h: { round: number; layer: number | null } | null): void;
  setSimMetric(m: 'path' | 'layer'): void;
  setCursor(n: number | null): void;
  setReplaying(on: boolean): void;
  clearImportError(): void;
  /** shows nothing (a new chat's empty conversation) */
  clearInspector(): void;
  /** token texts from the loaded model's tokenizer, by id (for ids a reply's own text does not cover) */
  tokenText: Record<number, string>;
  /** the model those texts are from; cleared when another model loads */
  tokenTextModel: string | null;
  decodeIds(ids: number[]): Promise<void>;
  /** the stand-alone traces the backend keeps (imported files, lab and compare runs; reachable after a reload) */
  storedTraces: TraceListItem[];
  loadStoredTraces(): Promise<void>;
  deleteStoredTrace(traceId: string): Promise<void>;
}

export interface AppError {
  id: number;
  text: string;
  /** the conversation it concerns (its banner shows only there); null: the whole app (a model, the list) */
  conversationId: string | null;
}

export type Theme = 'system' | 'light' | 'dark';

/** The similarity heatmap's colour scale: this reply's range, one fixed range for every reply, or log "nines". */
export type SimScale = 'reply' | 'fixed' | 'log';

export interface UiSlice {
  theme: Theme;
  inspectorOpen: boolean;
  settingsOpen: boolean;
  showFates: boolean;
  simScale: SimScale;
  errors: AppError[];
  toast: string | null;
  setTheme(t: Theme): void;
  toggleInspector(open?: boolean): void;
  toggleSettings(open?: boolean): void;
  setShowFates(on: boolean): void;
  setSimScale(s: SimScale): void;
  /** conversationId: the conversation it concerns (default: the open one); null for app-wide failures */
  pushError(text: string, conversationId?: string | null): void;
  dismissError(id?: number): void;
  showToast(text: string): void;
  /** the composer's unsent text per conversation (kept in memory while the app runs) */
  drafts: Record<string, string>;
  setDraft(conversationId: string, text: string): void;
}

/** One reply's "Compare modes" job, as this window knows it. */
export interface CompareState {
  jobId: string | null;
  /** the reply's conversation (the composer says why Send waits while a comparison runs) */
  conversationId: string;
  running: boolean;
  done: number;
  total: number;
  /** what runs now ('warm-up', a mode), or how it ended: 'done', 'cancelled', 'failed' */
  phase: string;
  result: CompareResult | null;
  error: string | null;
}

/** The figures of a reply or trace that the A/B view sets side by side. */
export type AbStats = Pick<GenerationStats, 'mode' | 'n_generated' | 'tokens_per_s' | 'ttft_ms'>;

/** The inspector's pinned trace A: its rounds buffer key, a label, and its stats when known. */
export interface AbPin {
  key: string;
  label: string;
  stats: AbStats | null;
}

export interface StudioSlice {
  /** shows version `messageId` of the reply `shown` (which is on screen now) */
  showVersion(shown: Message, messageId: string): Promise<void>;
  /** deletes the version on screen; another one is shown */
  deleteVersion(shown: Message): Promise<void>;
  /** by reply id */
  compares: Record<string, CompareState>;
  startCompare(m: Message, opts: { repeats: number; maxTokens: number; greedy: boolean }): Promise<void>;
  cancelCompare(messageId: string): Promise<void>;
  applyCompareEvent(e: CompareEvent): void;
  abPin: AbPin | null;
  /** pins what the inspector shows as A */
  pinA(): void;
  unpinA(): void;
}


/** One layer-lab run: the inspected reply's prompt again, with a pinned skip set or CLaSp at a fixed M. */
export interface LabRun {
  traceId: string;
  name: string;
  kind: 'set' | 'clasp';
  /** the pinned set (kind 'set'), sorted */
  skip: number[];
  /** its M: the set's size, or the fixed M of a clasp run */
  M: number;
  /** its token ids equal the original's (null: the original recorded none) */
  identical: boolean | null;
  greedy: boolean;
  meanAcceptedLength: number | null;
  acceptanceRate: number | null;
  tokensPerS: number;
  /** the cosine path at the first round's target (the prompt's last token): the set's, or its first DP's */
  path: (number | null)[] | null;
}

export interface LabSlice {
  /** the pinned layers, by inspector source key */
  labPins: Record<string, number[]>;
  /** the runs made from each source key, oldest first */
  labRuns: Record<string, LabRun[]>;
  /** the source key a run is going for (one at a time) */
  labBusy: string | null;
  labError: { key: string; text: string } | null;
  toggleLabLayer(key: string, layer: number): void;
  setLabPins(key: string, layers: readonly number[]): void;
  /** re-runs the trace's prompt with the key's pinned set (claspM absent) or with CLaSp at claspM */
  runLab(key: string, traceId: string, claspM?: number): Promise<void>;
}

export type AppState = ConversationsSlice & ChatSlice & ModelSlice & InspectorSlice & UiSlice & StudioSlice & LabSlice;

export type Slice<T> = StateCreator<AppState, [], [], T>;
