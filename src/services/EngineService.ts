// One loaded model: the native engine plus its tokenizer and chat template. Generations run one at
// a time in arrival order; each can stream tokens and round events and be cancelled. Nothing here
// blocks the event loop: the engine computes on native threads.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FinishReason, GenerateSettings, GenerationStats, ModelInfo, PlainStretch, PolicyDecision, RoundEvent, TokenFate, TokenLogprobs } from '../shared/engineTypes';
import { KV_CACHE, LLAMA3_SAMPLING, type KvType, type SamplingDefaults } from '../shared/settings';
import { loadAddon, type NativeEngine } from './native';
import { resolveModelPath } from './modelPaths';
import { toNativeParams, type ValidSettings } from './settings';
import { renderChat, renderChatSegments, type ChatMessage } from './text/chatTemplate';
import { checkChatTemplate } from './text/templateCheck';
import { Tokenizer } from './text/tokenizer';

export interface LoadOptions {
  modelPath?: string;
  backend?: 'auto' | 'cpu' | 'cuda' | 'ref';
  threads?: number;
  nCtx?: number;
  /** Where the policy's cost table and acceptance memory are kept across processes; absent: nowhere. */
  policyDir?: string;
  /** the KV cache's element type (settings.ts KV_CACHE); default f32 */
  kvType?: KvType;
  /** How long the chat template's test render may take (ms) before the built-in one replaces it. */
  templateTimeoutMs?: number;
  onProgress?: (p: { phase: 'reading' | 'tokenizer' | 'ready'; fraction: number; message: string }) => void;
}

export type PromptInput =
  | { prompt: string }
  | { chat: string; system?: string }
  | { messages: ChatMessage[] }
  | { promptIds: number[] };

export interface GenerateCallbacks {
  /**
   * Each generated token: the text it completes (may be "" mid-character), how it came about, and
   * with `logprobs` its log-probabilities.
   */
  onToken?: (id: number, text: string, fate: TokenFate, logprobs?: TokenLogprobs) => void;
  onRound?: (round: RoundEvent) => void;
  onPlain?: (plain: PlainStretch) => void;
  onPolicy?: (decision: PolicyDecision) => void;
  signal?: AbortSignal;
  /** Leave special tokens (end of turn, headers) out of the text. */
  skipSpecial?: boolean;
  /**
   * Report each token's log-probability and those of this many most likely tokens (1 to 20) to
   * onToken; absent or 0: off (nothing is computed). Reporting, not a setting: the text is the same.
   */
  logprobs?: number;
}

export interface GenerationResult {
  promptIds: number[];
  ids: number[];
  /** each token's fate, from the engine */
  fates: TokenFate[];
  /** each token's text (special tokens give "" with skipSpecial); joined, they are `text` */
  pieces: string[];
  text: string;
  finishReason: FinishReason;
  stats: GenerationStats;
  rounds: RoundEvent[];
  plain: PlainStretch[];
  decisions: PolicyDecision[];
}

/** Sampling defaults from the model's generation_config.json (the app and server start from these). */
export type ModelDefaults = SamplingDefaults;

/** A prompt refused by its length alone, before tokenizing: it cannot fit the context. */
export class PromptTooLongError extends Error {}

export class EngineService {
  private queue: Promise<unknown> = Promise.resolve();
  private active: { signal?: AbortSignal } | null = null;
  private disposed = false;

  private constructor(
    private readonly engine: NativeEngine,
    readonly tokenizer: Tokenizer,
    readonly info: ModelInfo,
    readonly defaults: ModelDefaults,
    /** The chat template in use: the model's, or null (the built-in Llama 3 one). */
    readonly chatTemplate: string | null,
    /** Why the model's own chat template is not used, or null. */
    readonly chatTemplateWarning: string | null,
  ) {}

  static async load(opts: LoadOptions = {}): Promise<EngineService> {
    const modelPath = resolveModelPath(opts.modelPath);
    const progress = opts.onProgress ?? (() => {});
    progress({ phase: 'reading', fraction: 0, message: `loading ${path.basename(modelPath)}` });
    const addon = loadAddon();
    const engine = await addon.load({ path: modelPath, backend: opts.backend ?? 'auto', threads: opts.threads ?? 0, nCtx: opts.nCtx ?? 0, kvType: opts.kvType ?? KV_CACHE.default, ...(opts.policyDir ? { policyDir: opts.policyDir } : {}) });
    try {
      progress({ phase: 'tokenizer', fraction: 0.8, message: 'reading the tokenizer' });
      const info = engine.info();
      const meta = engine.metadata();
      let tokenizer: Tokenizer;
      if (info.format === 'gguf') {
        if (!meta) throw new Error(`${modelPath}: GGUF metadata is missing`);
        tokenizer = Tokenizer.fromGgufMetadata(meta);
      } else {
        tokenizer = Tokenizer.fromHfDir(info.hfDir ?? modelPath);
      }
      if (tokenizer.vocabSize > info.nVocab) {
        throw new Error(`${modelPath}: the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${info.nVocab}`);
      }
      const defaults = readDefaults(info.hfDir);
      const t = await checkChatTemplate(tokenizer.chatTemplate, { bosToken: tokenizer.bosToken, eosToken: tokenizer.eosToken, timeoutMs: opts.templateTimeoutMs });
      progress({ phase: 'ready', fraction: 1, message: `${info.name} on ${info.deviceInfo}` });
      return new EngineService(engine, tokenizer, info, defaults, t.template, t.warning);
    } catch (e) {
      engine.dispose();
      throw e;
    }
  }

  /** Turns any prompt form into token ids, checking them against the vocabulary and the context. */
  encode(input: PromptInput): number[] {
    let ids: number[];
    if ('promptIds' in input) {
      ids = input.promptIds;
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id >= this.info.nVocab) {
          throw new Error(`prompt id ${id} is not a token of this model (0 to ${this.info.nVocab - 1})`);
        }
      }
    } else if ('prompt' in input) {
      if (typeof input.prompt === 'string') this.checkLength(input.prompt.length);
      ids = this.tokenizer.encode(input.prompt);
    } else {
      const messages: ChatMessage[] =
        'messages' in input
          ? input.messages
          : [...(input.system ? [{ role: 'system' as const, content: input.system }] : []), { role: 'user' as const, content: input.chat }];
      ids = this.encodeChat(messages);
    }
    if (ids.length === 0) throw new Error('the prompt is empty');
    if (ids.length > this.info.nCtx) {
      throw new Error(`the prompt has ${ids.length} tokens, more than the model's context of ${this.info.nCtx}`);
    }
    return ids;
  }

  renderChat(messages: ChatMessage[]): string {
    return renderChat(this.chatTemplate, messages, this.templateOptions());
  }

  /**
   * Chat messages -> prompt ids through the chat template. The template's markers are special
   * tokens; the messages' content is encoded as plain text (it cannot forge a turn).
   */
  encodeChat(messages: ChatMessage[]): number[] {
    const segments = renderChatSegments(this.chatTemplate, messages, this.templateOptions());
    this.checkLength(segments.reduce((n, s) => n + s.text.length, 0));
    return this.tokenizer.encodeSegments(segments);
  }

  /**
   * Refuses, before tokenizing, a text too long to fit the context whatever its tokens (tokenizing
   * a megabyte takes seconds, on the event loop). Error text as encode()'s context check.
   */
  checkLength(chars: number): void {
    const atLeast = Math.ceil(chars / this.tokenizer.maxCharsPerToken);
    if (atLeast > this.info.nCtx) {
      throw new PromptTooLongError(`the prompt has ${chars} characters, at least ${atLeast} tokens: more than the model's context of ${this.info.nCtx}`);
    }
  }

  private templateOptions() {
    return { addGenerationPrompt: true, bosToken: this.tokenizer.bosToken, eosToken: this.tokenizer.eosToken };
  }

  /**
   * Queues a generation; resolves when it finishes, is cancelled (finishReason 'cancelled') or fails.
   * The settings were validated where they came in (validateSettings with this model's layer count).
   */
  generate(promptIds: number[], s: ValidSettings, cb: GenerateCallbacks = {}): Promise<GenerationResult> {
    if (this.disposed) return Promise.reject(new Error('the model was unloaded'));
    let started = false;
    const run = async (): Promise<GenerationResult> => {
      started = true;
      if (this.disposed) throw new Error('the model was unloaded');
      if (cb.signal?.aborted) return this.cancelledResult(promptIds, s);
      // The one decoder of this generation: every front door takes its text from here.
      const decoder = this.tokenizer.createStreamDecoder({ skipSpecial: cb.skipSpecial ?? false });
      const rounds: RoundEvent[] = [];
      const plain: PlainStretch[] = [];
      const decisions: PolicyDecision[] = [];
      const fates: TokenFate[] = [];
      const pieces: string[] = [];
      let text = '';
      const onAbort = () => this.engine.cancel();
      cb.signal?.addEventListener('abort', onAbort, { once: true });
      this.active = { signal: cb.signal };
      try {
        const params = { ...toNativeParams(s, this.info.nLayer), logprobs: cb.logprobs ?? 0 };
        const r = await this.engine.generate(promptIds, params, (ev) => {
          if (ev.type === 'token') {
            let piece: string;
            try {
              piece = decoder.push(ev.id);
            } catch {
              piece = ''; // an id the tokenizer cannot show: the reply goes on without its text
            }
            text += piece;
            fates.push(ev.fate);
            pieces.push(piece);
            cb.onToken?.(ev.id, piece, ev.fate, ev.logprobs);
          } else if (ev.type === 'round') {
            rounds.push(ev.round);
            cb.onRound?.(ev.round);
          } else if (ev.type === 'plain') {
            plain.push(ev.plain);
            cb.onPlain?.(ev.plain);
          } else {
            decisions.push(ev.policy);
            cb.onPolicy?.(ev.policy);
          }
        });
        const tail = decoder.flush();
        text += tail;
        if (tail && pieces.length) pieces[pieces.length - 1] += tail;
        return { promptIds, ids: r.ids, fates, pieces, text, finishReason: r.finishReason, stats: r.stats, rounds, plain, decisions };
      } finally {
        cb.signal?.removeEventListener('abort', onAbort);
        this.active = null;
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    const signal = cb.signal;
    if (!signal) return p;
    // A generation stopped while it waits its turn ends now, not when the ones ahead of it do (its
    // turn, when it comes, finds the signal aborted and returns at once).
    return new Promise<GenerationResult>((resolve, reject) => {
      const onAbort = () => {
        if (!started) resolve(this.cancelledResult(promptIds, s));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /**
   * Forgets what the policy learned on this model and machine: every mode's acceptance memory and
   * the cost table (measured again at the next speculative reply), and the kept file. Queued behind
   * running generations, whose end would write the memory back.
   */
  forget(): Promise<void> {
    if (this.disposed) return Promise.reject(new Error('the model was unloaded'));
    const p = this.queue.then(() => this.engine.forget());
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Forgets the cached prompt prefix (benchmarks measure prefill from scratch). */
  resetCache(): void {
    this.engine.truncate(0);
  }

  get busy(): boolean {
    return this.active !== null;
  }

  refreshInfo(): ModelInfo {
    return this.engine.info();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.engine.dispose();
  }

  private cancelledResult(promptIds: number[], s: GenerateSettings): GenerationResult {
    const stats = {
      mode: s.mode, backend: this.info.backend, n_prompt: promptIds.length, n_reused: 0, n_generated: 0,
      prefill_ms: 0, decode_ms: 0, tokens_per_s: 0, ttft_ms: 0, rounds: null, drafted: null, accepted: null,
      mean_accepted_length: null, acceptance_rate: null, dp_runs: null, dp_ms: null,
      backend_reason: this.info.backendReason, policy: null, fallback: false, final_M: null,
    } satisfies GenerationStats;
    return { promptIds, ids: [], fates: [], pieces: [], text: '', finishReason: 'cancelled', stats, rounds: [], plain: [], decisions: [] };
  }
}

function readDefaults(hfDir: string | null): ModelDefaults {
  // Llama 3's published generation defaults, used when a GGUF carries none.
  const d: ModelDefaults = { ...LLAMA3_SAMPLING };
  if (!hfDir) return d;
  try {
    const g = JSON.parse(fs.readFileSync(path.join(hfDir, 'generation_config.json'), 'utf8')) as Record<string, unknown>;
    if (g.do_sample === false) d.temperature = 0;
    else if (typeof g.temperature === 'number') d.temperature = g.temperature;
    if (typeof g.top_p === 'number') d.topP = g.top_p;
    if (typeof g.top_k === 'number') d.topK = g.top_k;
  } catch {
    /* no generation_config.json: keep the defaults */
  }
  return d;
}
