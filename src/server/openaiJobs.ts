// From an OpenAI request body to a job the engine can run: the body is parsed (openaiSchemas.ts),
// the combinations the schema cannot see are refused, the prompt is taken out, and the generation
// settings are validated once for the engine that runs it (jobSettings). Every refusal is an
// HttpError 400 that names the field.
import * as crypto from 'node:crypto';
import type { EngineService, PromptInput } from '../services/EngineService';
import { SettingsError, validateSettings, type ValidSettings } from '../services/settings';
import type { ChatMessage } from '../services/text/chatTemplate';
import { HttpError } from './http';
import type { ModelEntry } from './openaiModels';
import {
  chatRequestSchema,
  completionRequestSchema,
  messageText,
  parseBody,
  type ChatRequest,
  type ClaspRequest,
  type CompletionRequest,
} from './openaiSchemas';

export type JobKind = 'chat' | 'completions';

export interface Job {
  kind: JobKind;
  /** the model the request named, or null for the loaded one */
  model: ModelEntry | null;
  prompt: PromptInput;
  stops: string[];
  stream: boolean;
  includeUsage: boolean;
  trace: boolean;
  /** log-probabilities: null off, else how many alternatives each token lists (chat's top_logprobs, completions' logprobs) */
  logprobs: number | null;
  maxTokens: number;
  seed: number;
  body: ChatRequest | CompletionRequest;
}

/** What building a job needs from the server. */
export interface JobContext {
  /** --max-tokens-limit */
  maxTokensLimit: number;
  findModel(name: string): ModelEntry;
}

const DEFAULT_COMPLETION_MAX_TOKENS = 16; // OpenAI's default for /v1/completions

function common(ctx: JobContext, b: ChatRequest | CompletionRequest, kind: JobKind, maxTokens: number | null | undefined): Omit<Job, 'kind' | 'prompt' | 'body' | 'logprobs'> {
  const limit = ctx.maxTokensLimit;
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
  if (c.skip_layers != null && (c.skip != null || c.skip_ratio != null)) {
    throw new HttpError(400, 'clasp.skip_layers sets M itself: leave out clasp.skip and clasp.skip_ratio', 'invalid_request_error', 'invalid_value', 'clasp.skip_layers');
  }
  if (c.dp_table && !c.trace) {
    throw new HttpError(400, 'clasp.dp_table needs clasp.trace', 'invalid_request_error', 'invalid_value', 'clasp.dp_table');
  }
  const stops = b.stop == null ? [] : typeof b.stop === 'string' ? [b.stop] : b.stop;
  return {
    model: b.model != null ? ctx.findModel(b.model) : null,
    stops,
    stream: b.stream === true,
    includeUsage: b.stream_options?.include_usage === true,
    trace: c.trace === true,
    maxTokens: maxTokens ?? (kind === 'completions' ? Math.min(DEFAULT_COMPLETION_MAX_TOKENS, limit) : limit),
    // No seed: a fresh one, reported in clasp.settings.seed so the reply can be reproduced.
    seed: b.seed ?? crypto.randomInt(0, 2 ** 31),
  };
}

/** POST /v1/chat/completions */
export function chatJob(ctx: JobContext, body: unknown): Job {
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
  // top_logprobs 0 asks for nothing, so clients that always send it keep working (as in vLLM)
  if ((b.top_logprobs ?? 0) > 0 && b.logprobs !== true) {
    throw new HttpError(400, 'top_logprobs needs logprobs: true', 'invalid_request_error', 'invalid_value', 'top_logprobs');
  }
  const logprobs = b.logprobs === true ? (b.top_logprobs ?? 0) : null;
  return { kind: 'chat', prompt: { messages }, body: b, logprobs, ...common(ctx, b, 'chat', b.max_completion_tokens ?? b.max_tokens) };
}

/** POST /v1/completions */
export function completionJob(ctx: JobContext, body: unknown): Job {
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
  return { kind: 'completions', prompt, body: b, logprobs: b.logprobs ?? null, ...common(ctx, b, 'completions', b.max_tokens) };
}

/** The job's generation settings for this engine (its sampling defaults, its layer count): the one check before the engine. */
export function jobSettings(engine: EngineService, job: Job): ValidSettings {
  const b = job.body;
  const c: ClaspRequest = b.clasp ?? {};
  const d = engine.defaults;
  let temperature = b.temperature ?? d.temperature;
  let topP = b.top_p ?? d.topP;
  if (topP === 0) {
    // only the most likely token is left: greedy
    temperature = 0;
    topP = 1;
  }
  const mode = c.mode ?? (c.skip_layers != null ? 'static' : 'clasp'); // a given skip set is static skipping
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
        skipLayers: c.skip_layers ?? undefined,
        det: c.det ?? undefined,
        maxDraft: c.max_draft ?? undefined,
        loi: c.loi ?? undefined,
        ignoreEos: c.ignore_eos ?? false,
        dpTable: c.dp_table ?? false,
        forceSpeculation: c.try_anyway ?? false,
      },
      engine.info.nLayer,
    );
  } catch (e) {
    if (e instanceof SettingsError) throw new HttpError(400, e.message, 'invalid_request_error', 'invalid_value', e.message.startsWith('skip layers') ? 'clasp.skip_layers' : 'clasp');
    throw e;
  }
}

/** The job's prompt as token ids for this engine; a prompt too long for its context is context_length_exceeded. */
export function jobPromptIds(engine: EngineService, job: Job): number[] {
  try {
    return engine.encode(job.prompt);
  } catch (e) {
    const msg = (e as Error).message;
    const param = job.kind === 'chat' ? 'messages' : 'prompt';
    if (/context/.test(msg)) {
      throw new HttpError(400, `This model's maximum context length is ${engine.info.nCtx} tokens: ${msg}`, 'invalid_request_error', 'context_length_exceeded', param);
    }
    throw new HttpError(400, msg, 'invalid_request_error', 'invalid_value', param);
  }
}
