// Request bodies of the OpenAI-compatible API (`clasp serve`), validated with zod, and the table of
// OpenAI fields the server does not implement: each is either ignored (it has no effect on the output,
// as OpenAI itself treats it for models without that feature) or refused with a 400 that names it.
// docs/API.md documents the same table; keep the two in step.
import { z } from 'zod';
import { numberSettingSchema } from '../shared/api';
import { MODE_VALUES, NUMBER_SETTINGS as S } from '../shared/settings';
import { HttpError } from './http';
import { MAX_COMPLETION_LOGPROBS, MAX_TOP_LOGPROBS } from './openaiLogprobs';

const opt = <T extends z.ZodType>(t: T) => t.nullable().optional();

/** Request-level CLaSp settings: `"clasp": {...}` in a chat or completion request; ranges from the settings table. */
export const claspSchema = z.strictObject({
  mode: opt(z.enum(MODE_VALUES)),
  skip: opt(z.union([z.literal('auto'), numberSettingSchema(S.skip)])),
  skip_ratio: opt(numberSettingSchema(S.skipRatio)),
  /** A given skip set (layer indices): static mode with exactly these layers skipped, always honoured. */
  skip_layers: opt(z.array(z.number().int()).min(1).max(1024)),
  det: opt(numberSettingSchema(S.det)),
  max_draft: opt(numberSettingSchema(S.maxDraft)),
  loi: opt(numberSettingSchema(S.loi)),
  /** Include the per-round trace (`clasp.rounds`) in the response. */
  trace: opt(z.boolean()),
  /** With trace: include each DP run's whole D(i, j) table (big). */
  dp_table: opt(z.boolean()),
  /** Keep generating past end tokens (benchmarks). */
  ignore_eos: opt(z.boolean()),
  /** Speculate in this request whatever the policy predicts (skip "auto"; its counts still learn from it). */
  try_anyway: opt(z.boolean()),
});
export type ClaspRequest = z.infer<typeof claspSchema>;

const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });
const contentSchema = z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]);

const messageSchema = z.strictObject({
  role: z.string(),
  content: opt(contentSchema),
  // ignored
  name: opt(z.string()),
  refusal: opt(z.string()),
  // refused unless empty (no tool calling); see chatMessages()
  tool_calls: opt(z.array(z.unknown())),
  tool_call_id: opt(z.string()),
  function_call: opt(z.unknown()),
  audio: opt(z.unknown()),
});
export type RequestMessage = z.infer<typeof messageSchema>;

/**
 * Sampling and control fields shared by both endpoints. max_tokens, temperature and top_p keep
 * OpenAI's own contract (docs/API.md): max_tokens is capped by --max-tokens-limit, temperature
 * goes to 2, and top_p 0 is allowed (it means greedy). top_k and seed come from the settings table.
 */
const common = {
  model: opt(z.string().max(512)),
  max_tokens: opt(z.number().int().min(1)),
  temperature: opt(z.number().min(0).max(2)),
  top_p: opt(z.number().min(0).max(1)),
  /** Not in OpenAI's API; llama.cpp and vLLM take it too. 0 turns it off. */
  top_k: opt(numberSettingSchema(S.topK)),
  seed: opt(numberSettingSchema(S.seed)),
  stop: opt(z.union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).max(4)])),
  stream: opt(z.boolean()),
  stream_options: opt(z.strictObject({ include_usage: opt(z.boolean()), include_obfuscation: opt(z.boolean()) })),
  clasp: opt(claspSchema),
  // ignored or refused (see UNSUPPORTED): typed loosely here, judged by value below
  n: opt(z.number().int()),
  frequency_penalty: opt(z.number()),
  presence_penalty: opt(z.number()),
  logit_bias: opt(z.record(z.string(), z.number())),
  user: opt(z.string()),
  service_tier: opt(z.string()),
};

export const chatRequestSchema = z.strictObject({
  ...common,
  messages: z.array(messageSchema).min(1, 'messages must hold at least one message'),
  max_completion_tokens: opt(z.number().int().min(1)),
  /** Each token's log-probability in `choices[0].logprobs.content`; with top_logprobs, that many alternatives too. */
  logprobs: opt(z.boolean()),
  top_logprobs: opt(z.number().int().min(0, `top_logprobs must be between 0 and ${MAX_TOP_LOGPROBS}`).max(MAX_TOP_LOGPROBS, `top_logprobs must be between 0 and ${MAX_TOP_LOGPROBS}`)),
  tools: opt(z.array(z.unknown())),
  tool_choice: opt(z.unknown()),
  parallel_tool_calls: opt(z.boolean()),
  functions: opt(z.array(z.unknown())),
  function_call: opt(z.unknown()),
  response_format: opt(z.looseObject({ type: z.string() })),
  modalities: opt(z.array(z.string())),
  audio: opt(z.unknown()),
  prediction: opt(z.unknown()),
  web_search_options: opt(z.unknown()),
  reasoning_effort: opt(z.unknown()),
  verbosity: opt(z.unknown()),
  metadata: opt(z.record(z.string(), z.string())),
  store: opt(z.boolean()),
  safety_identifier: opt(z.string()),
  prompt_cache_key: opt(z.string()),
  prompt_cache_retention: opt(z.string()),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

export const completionRequestSchema = z.strictObject({
  ...common,
  prompt: z.union([
    z.string(),
    z.array(z.string()),
    z.array(z.number().int()),
    z.array(z.array(z.number().int())),
  ]),
  /** The legacy shape: each token's log-probability and this many alternatives'. */
  logprobs: opt(z.number().int().min(0, `logprobs must be between 0 and ${MAX_COMPLETION_LOGPROBS}`).max(MAX_COMPLETION_LOGPROBS, `logprobs must be between 0 and ${MAX_COMPLETION_LOGPROBS}`)),
  echo: opt(z.boolean()),
  suffix: opt(z.string()),
  best_of: opt(z.number().int()),
});
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

type Endpoint = 'chat' | 'completions';

/**
 * OpenAI fields the server does not implement. `neutral` says which values are harmless (the
 * field's default, or what OpenAI ignores); any other value is refused with a 400 naming the field.
 * A field with `neutral: () => true` is always ignored.
 */
export const UNSUPPORTED: { field: string; endpoints: Endpoint[]; neutral: (v: unknown) => boolean; note: string }[] = [
  { field: 'n', endpoints: ['chat', 'completions'], neutral: (v) => v === 1, note: 'only one choice per request' },
  { field: 'best_of', endpoints: ['completions'], neutral: (v) => v === 1, note: 'only one candidate per request' },
  { field: 'frequency_penalty', endpoints: ['chat', 'completions'], neutral: (v) => v === 0, note: 'no repetition penalties (they would break lossless speculative decoding)' },
  { field: 'presence_penalty', endpoints: ['chat', 'completions'], neutral: (v) => v === 0, note: 'no repetition penalties' },
  { field: 'logit_bias', endpoints: ['chat', 'completions'], neutral: (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0, note: 'no logit bias' },
  { field: 'echo', endpoints: ['completions'], neutral: (v) => v === false, note: 'the prompt is not echoed' },
  { field: 'suffix', endpoints: ['completions'], neutral: (v) => v === '', note: 'no insertion (fill-in-the-middle)' },
  { field: 'tools', endpoints: ['chat'], neutral: (v) => Array.isArray(v) && v.length === 0, note: 'no tool calling' },
  { field: 'tool_choice', endpoints: ['chat'], neutral: (v) => v === 'none', note: 'no tool calling' },
  { field: 'functions', endpoints: ['chat'], neutral: (v) => Array.isArray(v) && v.length === 0, note: 'no function calling' },
  { field: 'function_call', endpoints: ['chat'], neutral: (v) => v === 'none', note: 'no function calling' },
  { field: 'response_format', endpoints: ['chat'], neutral: (v) => (v as { type?: unknown }).type === 'text', note: 'no JSON mode or structured outputs' },
  { field: 'modalities', endpoints: ['chat'], neutral: (v) => Array.isArray(v) && v.every((m) => m === 'text'), note: 'text only' },
  { field: 'audio', endpoints: ['chat'], neutral: () => false, note: 'text only' },
  { field: 'prediction', endpoints: ['chat'], neutral: () => false, note: 'no predicted outputs' },
  { field: 'web_search_options', endpoints: ['chat'], neutral: () => false, note: 'no web search' },
  { field: 'reasoning_effort', endpoints: ['chat'], neutral: () => false, note: 'not a reasoning model' },
  { field: 'verbosity', endpoints: ['chat'], neutral: () => false, note: 'not supported' },
  // Ignored: they describe the caller or OpenAI's own service and change nothing in the output.
  { field: 'user', endpoints: ['chat', 'completions'], neutral: () => true, note: 'ignored' },
  { field: 'service_tier', endpoints: ['chat', 'completions'], neutral: () => true, note: 'ignored' },
  { field: 'parallel_tool_calls', endpoints: ['chat'], neutral: () => true, note: 'ignored (no tools)' },
  { field: 'metadata', endpoints: ['chat'], neutral: () => true, note: 'ignored' },
  { field: 'store', endpoints: ['chat'], neutral: () => true, note: 'ignored (nothing is stored)' },
  { field: 'safety_identifier', endpoints: ['chat'], neutral: () => true, note: 'ignored' },
  { field: 'prompt_cache_key', endpoints: ['chat'], neutral: () => true, note: 'ignored (the engine reuses a cached prompt prefix by itself)' },
  { field: 'prompt_cache_retention', endpoints: ['chat'], neutral: () => true, note: 'ignored' },
];

/** Validates a parsed body; throws an HttpError 400 in OpenAI's format naming the first problem. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, endpoint: Endpoint): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'the request body must be a JSON object', 'invalid_request_error', 'invalid_type');
  }
  const r = schema.safeParse(body);
  if (!r.success) throw zodToHttp(r.error);
  const data = r.data as Record<string, unknown>;
  for (const u of UNSUPPORTED) {
    if (!u.endpoints.includes(endpoint)) continue;
    const v = data[u.field];
    if (v === undefined || v === null) continue;
    if (!u.neutral(v)) {
      throw new HttpError(400, `Unsupported value for '${u.field}': ${JSON.stringify(v)} (${u.note}; see docs/API.md)`, 'invalid_request_error', 'unsupported_value', u.field);
    }
  }
  return r.data;
}

function paramPath(path: PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? String(p) : `.${String(p)}`;
  return s;
}

function zodToHttp(err: z.ZodError): HttpError {
  const issue = err.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const where = paramPath(issue.path);
    const keys = issue.keys.join(', ');
    const param = where ? `${where}.${issue.keys[0]}` : issue.keys[0]!;
    return new HttpError(400, `Unrecognized request argument supplied${where ? ` in '${where}'` : ''}: ${keys}`, 'invalid_request_error', 'unknown_parameter', param);
  }
  const param = paramPath(issue.path);
  const code = issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_value';
  return new HttpError(400, param ? `Invalid '${param}': ${issue.message}` : issue.message, 'invalid_request_error', code, param || null);
}

/** Chat message content: a string, or text parts (joined); images, audio and files are refused. */
export function messageText(content: unknown, index: number): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) {
    throw new HttpError(400, `messages[${index}] has no content`, 'invalid_request_error', 'invalid_value', `messages[${index}].content`);
  }
  const parts = content as { type: string }[];
  let text = '';
  parts.forEach((p, j) => {
    const r = textPart.safeParse(p);
    if (!r.success) {
      const what = p.type === 'text' ? 'a text part needs a string "text"' : `content parts of type "${p.type}" are not supported (text only)`;
      throw new HttpError(400, `messages[${index}].content[${j}]: ${what}`, 'invalid_request_error', 'unsupported_value', `messages[${index}].content[${j}]`);
    }
    text += r.data.text;
  });
  return text;
}
