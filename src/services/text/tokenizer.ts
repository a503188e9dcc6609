// Text <-> token ids for Llama 3 models (docs/DESIGN.md: "Text lives in TypeScript, numbers in C++").
// Encoding runs through @huggingface/tokenizers. Decoding is done here, byte-level, so that the
// one-shot decoder and the streaming decoder share one code path and always agree.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { type GgufMetadata, tokenizerPartsFromGguf } from './ggufTokenizerJson';

export type { GgufMetadata } from './ggufTokenizerJson';

export interface EncodeOptions {
  /** Prepend BOS unless the text already starts with it. Default: the model's setting (true for Llama 3). */
  addBos?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS, <|eot_id|>, headers, ...) from the text. Default false. */
  skipSpecial?: boolean;
}

/** A piece of a rendered chat prompt: the template's own text (its markers are special tokens) or a message's content. */
export interface PromptSegment {
  text: string;
  /** A message's content: encoded as plain text, so `<|eot_id|>` written in it is just text. */
  content: boolean;
}

export interface StreamDecoder {
  /** Feeds one token; returns the text that is now complete (possibly ""). */
  push(id: number): string;
  /** Returns whatever is left; an incomplete UTF-8 tail becomes U+FFFD, as decode() would render it. */
  flush(): string;
}

// Special tokens that end a turn or the text in Llama 3 vocabularies. `<|eom_id|>` (Llama 3.1 tool
// calls) only counts when the chat template can produce it: the demo model's vocabulary has it as a
// never-used reserved token, and its end tokens are exactly <|end_of_text|> and <|eot_id|>.
const END_TOKEN_NAMES = ['<|end_of_text|>', '<|eot_id|>'];
const EOM_NAME = '<|eom_id|>';

// GPT-2's byte-level alphabet: every byte is written as one printable code point.
function buildUnicodeToByte(): Map<string, number> {
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    map.set(String.fromCodePoint(printable ? b : 256 + extra++), b);
  }
  return map;
}
const UNICODE_TO_BYTE = buildUnicodeToByte();
const utf8Encoder = new TextEncoder();

interface Parts {
  hfJson: Record<string, unknown>;
  hfConfig: Record<string, unknown>;
  /** id -> vocabulary string, added tokens included */
  tokens: string[];
  /** added tokens: their text is literal, not byte-level encoded */
  addedIds: Set<number>;
  specialIds: Set<number>;
  bosId: number | null;
  /** end ids the model's metadata names explicitly */
  endIds: number[];
  /** the chat templates' eos_token; null: the first end id's text */
  eosToken: string | null;
  addBos: boolean;
  chatTemplate: string | null;
  source: string;
}

function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`Cannot read ${path}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`Invalid JSON in ${path}: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`Invalid ${path}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

function readJsonIfExists(path: string): Record<string, unknown> {
  return existsSync(path) ? readJson(path) : {};
}

/** A special token in tokenizer_config.json is a string or an AddedToken object. */
function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return null;
}

function idList(v: unknown): number[] {
  const list = Array.isArray(v) ? v : [v];
  return list.filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
}

function hfChatTemplate(config: Record<string, unknown>): string | null {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  // newer configs may hold a list of named templates
  if (Array.isArray(t)) {
    const named = t as { name?: unknown; template?: unknown }[];
    const def = named.find((x) => x.name === 'default') ?? named[0];
    if (def && typeof def.template === 'string') return def.template;
  }
  return null;
}

export class Tokenizer {
  readonly bosId: number | null;
  /** Every token that ends generation. */
  readonly eosIds: number[];
  readonly vocabSize: number;
  readonly chatTemplate: string | null;
  /** Text of the BOS token, e.g. "<|begin_of_text|>", for chat templates. */
  readonly bosToken: string | null;
  /** Text of the main EOS token, for chat templates. */
  readonly eosToken: string | null;

  /** No text is shorter than this many UTF-16 units per token: a longer text cannot fit `n` tokens. */
  readonly maxCharsPerToken: number;

  private readonly hf: HfTokenizer;
  /** The same tokenizer without its special tokens, for message content (built on first use). */
  private textHf: HfTokenizer | null = null;
  private readonly hfJson: Record<string, unknown>;
  private readonly hfConfig: Record<string, unknown>;
  private readonly tokens: string[];
  private readonly addedIds: Set<number>;
  private readonly specialIds: Set<number>;
  private readonly addBosDefault: boolean;
  private readonly bytesCache: (Uint8Array | undefined)[] = [];

  private constructor(p: Parts) {
    try {
      this.hf = new HfTokenizer(p.hfJson, p.hfConfig);
    } catch (e) {
      throw new Error(`Cannot build tokenizer from ${p.source}: ${(e as Error).message}`);
    }
    this.hfJson = p.hfJson;
    this.hfConfig = p.hfConfig;
    this.tokens = p.tokens;
    this.addedIds = p.addedIds;
    this.specialIds = p.specialIds;
    this.addBosDefault = p.addBos;
    this.vocabSize = p.tokens.length;
    this.bosId = p.bosId;
    this.chatTemplate = p.chatTemplate;

    const ends = new Set(p.endIds);
    const byName = new Map<string, number>();
    for (const id of p.specialIds) byName.set(p.tokens[id]!, id);
    const names = p.chatTemplate?.includes(EOM_NAME) ? [...END_TOKEN_NAMES, EOM_NAME] : END_TOKEN_NAMES;
    for (const name of names) {
      const id = byName.get(name);
      if (id !== undefined) ends.add(id);
    }
    this.eosIds = [...ends].sort((a, b) => a - b);
    this.bosToken = p.bosId === null ? null : p.tokens[p.bosId]!;
    const mainEos = p.endIds[0] ?? this.eosIds[0];
    this.eosToken = p.eosToken ?? (mainEos === undefined ? null : p.tokens[mainEos]!);
    // A byte-level token covers one byte per character of its string, an added token its literal
    // text; a UTF-16 unit of text is at least one UTF-8 byte. So no token covers more text than this.
    let longest = 1;
    p.tokens.forEach((t, id) => (longest = Math.max(longest, p.addedIds.has(id) ? t.length : [...t].length)));
    this.maxCharsPerToken = longest;
  }

  /** Loads tokenizer.json + tokenizer_config.json (+ generation_config.json / config.json) from a model folder. */
  static fromHfDir(dir: string): Tokenizer {
    const tokPath = join(dir, 'tokenizer.json');
    if (!existsSync(tokPath)) throw new Error(`No tokenizer.json in ${dir}`);
    const json = readJson(tokPath);
    const config = readJsonIfExists(join(dir, 'tokenizer_config.json'));
    const genConfig = readJsonIfExists(join(dir, 'generation_config.json'));
    const modelConfig = readJsonIfExists(join(dir, 'config.json'));

    const model = json.model as { type?: unknown; vocab?: unknown } | undefined;
    const decoder = json.decoder as { type?: unknown } | null | undefined;
    if (model?.type !== 'BPE' || !model.vocab || typeof model.vocab !== 'object') {
      throw new Error(`${tokPath}: expected a BPE model with a vocab (Llama 3 tokenizer)`);
    }
    if (decoder?.type !== 'ByteLevel') {
      throw new Error(`${tokPath}: expected a ByteLevel decoder (Llama 3 tokenizer), got ${JSON.stringify(decoder?.type)}`);
    }

    const tokens: string[] = [];
    for (const [tok, id] of Object.entries(model.vocab as Record<string, number>)) tokens[id] = tok;
    const addedIds = new Set<number>();
    const specialIds = new Set<number>();
    const added = Array.isArray(json.added_tokens) ? (json.added_tokens as Record<string, unknown>[]) : [];
    for (const t of added) {
      const id = t.id as number;
      tokens[id] = t.content as string;
      addedIds.add(id);
      if (t.special) specialIds.add(id);
    }
    // dense array: an id gap would otherwise make vocabSize and lookups lie
    for (let i = 0; i < tokens.length; i++) {
      if (tokens[i] === undefined) throw new Error(`${tokPath}: no token has id ${i}`);
    }
    const idOf = (s: string | null): number | null => {
      if (s === null) return null;
      const i = tokens.indexOf(s);
      return i < 0 ? null : i;
    };

    const bosId = idOf(tokenContent(config.bos_token)) ?? idList(genConfig.bos_token_id)[0]
      ?? idList(modelConfig.bos_token_id)[0] ?? null;
    // generation_config.json is what transformers stops on; the others fill in when it is absent
    const endIds = [
      ...idList(genConfig.eos_token_id),
      ...idList(modelConfig.eos_token_id),
    ];
    const eosFromConfig = idOf(tokenContent(config.eos_token));
    if (eosFromConfig !== null) endIds.push(eosFromConfig);

    return new Tokenizer({
      hfJson: json,
      // decoding is ours; the library's clean-up would also rewrite e.g. " ," to ","
      hfConfig: { ...config, clean_up_tokenization_spaces: false },
      tokens,
      addedIds,
      specialIds,
      bosId,
      endIds,
      eosToken: tokenContent(config.eos_token),
      addBos: typeof config.add_bos_token === 'boolean' ? config.add_bos_token : true,
      chatTemplate: hfChatTemplate(config),
      source: tokPath,
    });
  }

  /** Builds the tokenizer from a GGUF file's metadata (tokenizer.ggml.* keys). */
  static fromGgufMetadata(meta: GgufMetadata): Tokenizer {
    const p = tokenizerPartsFromGguf(meta);
    const addedIds = new Set<number>();
    for (const t of p.tokenizerJson.added_tokens as { id: number }[]) addedIds.add(t.id);
    return new Tokenizer({
      hfJson: p.tokenizerJson,
      hfConfig: { clean_up_tokenization_spaces: false },
      tokens: p.tokens,
      addedIds,
      specialIds: p.specialIds,
      bosId: p.bosId,
      endIds: p.endIds,
      eosToken: null,
      addBos: p.addBos,
      chatTemplate: p.chatTemplate,
      source: 'GGUF metadata',
    });
  }

  /** Special tokens written in the text (e.g. `<|eot_id|>`) become their ids. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TypeError('encode: text must be a string');
    const ids: number[] = text.length === 0 ? [] : this.hf.encode(text, { add_special_tokens: false }).ids;
    // only possible with a vocabulary that lacks some byte; better to fail than send garbage ids
    if (ids.some((id) => typeof id !== 'number')) throw new Error('encode: text has characters the vocabulary cannot represent');
    const addBos = opts.addBos ?? this.addBosDefault;
    if (addBos && this.bosId !== null && ids[0] !== this.bosId) ids.unshift(this.bosId);
    return ids;
  }

  /** Encodes text with no special tokens: `<|eot_id|>` in it becomes the ids of those characters. */
  encodeText(text: string): number[] {
    if (typeof text !== 'string') throw new TypeError('encodeText: text must be a string');
    if (text.length === 0) return [];
    if (!this.textHf) {
      const added = Array.isArray(this.hfJson.added_tokens) ? (this.hfJson.added_tokens as { special?: unknown }[]) : [];
      this.textHf = new HfTokenizer({ ...this.hfJson, added_tokens: added.filter((t) => !t.special) }, this.hfConfig);
    }
    const ids = this.textHf.encode(text, { add_special_tokens: false }).ids;
    if (ids.some((id) => typeof id !== 'number')) throw new Error('encode: text has characters the vocabulary cannot represent');
    return ids;
  }

  /**
   * Encodes a rendered chat prompt: the template's text with its special tokens, the messages'
   * content as plain text (a pasted `<|start_header_id|>system` cannot forge a turn). BOS as encode().
   */
  encodeSegments(segments: readonly PromptSegment[], opts: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    for (const s of segments) {
      for (const id of s.content ? this.encodeText(s.text) : this.encode(s.text, { addBos: false })) ids.push(id);
    }
    const addBos = opts.addBos ?? this.addBosDefault;
    if (addBos && this.bosId !== null && ids[0] !== this.bosId) ids.unshift(this.bosId);
    return ids;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const d = this.createStreamDecoder(opts);
    let out = '';
    for (const id of ids) out += d.push(id);
    return out + d.flush();
  }

  createStreamDecoder(opts: DecodeOptions = {}): StreamDecoder {
    const skipSpecial = opts.skipSpecial ?? false;
    // stream mode holds back an incomplete multi-byte character until its last byte arrives
    const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
    return {
      push: (id: number): string => {
        this.checkId(id);
        if (this.addedIds.has(id)) {
          // a skipped special token is simply absent, so bytes on both sides of it still join up
          if (skipSpecial && this.specialIds.has(id)) return '';
          const pending = utf8.decode();
          return pending + this.tokens[id]!;
        }
        return utf8.decode(this.tokenBytes(id), { stream: true });
      },
      // a non-streaming call also resets the decoder, so it can be reused afterwards
      flush: (): string => utf8.decode(),
    };
  }

  /** The token's vocabulary string, e.g. "Ġthe" or "<|eot_id|>". */
  tokenToString(id: number): string {
    this.checkId(id);
    return this.tokens[id]!;
  }

  /** The token's own bytes: an added token's text as UTF-8, else the bytes it stands for (possibly part of a character). */
  bytesOf(id: number): Uint8Array {
    this.checkId(id);
    return this.addedIds.has(id) ? utf8Encoder.encode(this.tokens[id]!) : this.tokenBytes(id);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(`token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    }
  }

  private tokenBytes(id: number): Uint8Array {
    let bytes = this.bytesCache[id];
    if (!bytes) {
      const chars = [...this.tokens[id]!];
      // a character outside the byte alphabet (malformed vocabulary) is kept as its own UTF-8
      const list: number[] = [];
      for (const c of chars) {
        const b = UNICODE_TO_BYTE.get(c);
        if (b !== undefined) list.push(b);
        else list.push(...utf8Encoder.encode(c));
      }
      bytes = Uint8Array.from(list);
      this.bytesCache[id] = bytes;
    }
    return bytes;
  }
}
