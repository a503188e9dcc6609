// Log-probabilities in the OpenAI API (docs/API.md, "Log-probabilities"). The engine reports each
// token's log-probability and its most likely alternatives by id (TokenLogprobs: the full model's raw
// distribution, docs/NUMBERS.md); here they get their text and bytes from the model's tokenizer and
// take the chat shape (`logprobs.content`) or the legacy completions shape (`tokens`,
// `token_logprobs`, `top_logprobs`, `text_offset`).
import type { TokenLogprobs } from '../shared/engineTypes';
import type { Tokenizer } from '../services/text/tokenizer';

/** OpenAI's limits: chat's top_logprobs and the legacy completions' logprobs. */
export const MAX_TOP_LOGPROBS = 20;
export const MAX_COMPLETION_LOGPROBS = 5;

export interface LogprobToken {
  token: string;
  /** the token's own bytes (a token that is part of a character gives its raw bytes); null for an id the tokenizer lacks */
  bytes: number[] | null;
  logprob: number;
}

/** One reply token's figures: its own, its `top` alternatives, and where its text starts in the reply (code points). */
export interface LogprobEntry extends LogprobToken {
  top: LogprobToken[];
  offset: number;
}

const lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

// OpenAI writes -9999 for a probability too small to have a logarithm; the engine sends null for one.
const finite = (x: number | null): number => (x !== null && Number.isFinite(x) ? x : -9999);

function tokenOf(tok: Tokenizer, id: number, logprob: number | null): LogprobToken {
  if (!Number.isInteger(id) || id < 0 || id >= tok.vocabSize) return { token: '', bytes: null, logprob: finite(logprob) };
  const bytes = tok.bytesOf(id);
  return { token: lossy.decode(bytes), bytes: [...bytes], logprob: finite(logprob) };
}

/** The entry of token `id` with its `nTop` most likely alternatives (the engine reports at least one). */
export function logprobEntry(tok: Tokenizer, id: number, lp: TokenLogprobs, nTop: number, offset: number): LogprobEntry {
  return { ...tokenOf(tok, id, lp.logprob), top: lp.top.slice(0, nTop).map((t) => tokenOf(tok, t.id, t.logprob)), offset };
}

/** `choices[0].logprobs` of a chat completion (or of one chunk). */
export function chatLogprobs(entries: readonly LogprobEntry[]) {
  const plain = (t: LogprobToken) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes });
  return { content: entries.map((e) => ({ ...plain(e), top_logprobs: e.top.map(plain) })), refusal: null };
}

/**
 * `choices[0].logprobs` of a legacy completion (or of one chunk). Each `top_logprobs` entry maps the
 * alternatives' text to their log-probabilities, with the chosen token's added when it is not among
 * them (OpenAI's "up to logprobs + 1"); tokens with the same text share one key.
 */
export function completionLogprobs(entries: readonly LogprobEntry[]) {
  return {
    tokens: entries.map((e) => e.token),
    token_logprobs: entries.map((e) => e.logprob),
    top_logprobs: entries.map((e) => {
      // a Map, then own properties: a token may be spelled "__proto__"
      const m = new Map<string, number>();
      for (const t of [...e.top, e]) if (!m.has(t.token)) m.set(t.token, t.logprob);
      return Object.fromEntries(m);
    }),
    text_offset: entries.map((e) => e.offset),
  };
}
