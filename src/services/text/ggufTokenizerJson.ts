// Builds a Hugging Face `tokenizer.json` object from the tokenizer a GGUF file carries, so GGUF and HF
// models go through the same @huggingface/tokenizers code and tokenize identically.
// The structure mirrors the Llama 3 tokenizer.json (and the demo model's).

/** GGUF metadata as the native addon returns it: key -> string, number, bool or array of those. */
export type GgufMetadata = Record<string, unknown>;

/** The Llama 3 pre-tokenizer regex (tiktoken's cl100k-style split), as written in Llama 3's tokenizer.json. */
export const LLAMA3_SPLIT_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// llama.cpp's token types (llama_token_type).
const TOKEN_TYPE_CONTROL = 3;
const TOKEN_TYPE_USER_DEFINED = 4;

// Pre-tokenizer names llama.cpp writes for the Llama 3 regex. Older GGUFs have no `pre` key at all;
// this is a Llama 3 runner, so those are assumed to be Llama 3 too.
const LLAMA3_PRE = new Set(['llama-bpe', 'llama3']);

export interface GgufTokenizerParts {
  tokenizerJson: Record<string, unknown>;
  tokens: string[];
  specialIds: Set<number>;
  bosId: number | null;
  /** ids named by the eos/eot/eom keys */
  endIds: number[];
  addBos: boolean;
  chatTemplate: string | null;
}

function fail(msg: string): never {
  throw new Error(`GGUF tokenizer metadata: ${msg}`);
}

function toArray(meta: GgufMetadata, key: string): unknown[] {
  const v = meta[key];
  // typed arrays are accepted too, in case the addon hands numeric arrays over that way
  if (Array.isArray(v)) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  return fail(`"${key}" is missing or not an array`);
}

function optId(meta: GgufMetadata, key: string, nTokens: number): number | null {
  const v = meta[key];
  if (v === undefined || v === null) return null;
  const id = typeof v === 'bigint' ? Number(v) : v;
  if (typeof id !== 'number' || !Number.isInteger(id)) return fail(`"${key}" is not an integer`);
  // llama.cpp writes -1 (or a huge u32) for "none"
  if (id < 0 || id >= nTokens) return null;
  return id;
}

export function tokenizerPartsFromGguf(meta: GgufMetadata): GgufTokenizerParts {
  const model = meta['tokenizer.ggml.model'];
  if (model !== 'gpt2') {
    fail(`tokenizer.ggml.model is ${JSON.stringify(model)}; only "gpt2" (byte-level BPE, as in Llama 3) is supported`);
  }
  const pre = meta['tokenizer.ggml.pre'];
  if (pre !== undefined && !LLAMA3_PRE.has(String(pre))) {
    fail(`tokenizer.ggml.pre is ${JSON.stringify(pre)}; only the Llama 3 pre-tokenizer ("llama-bpe") is supported`);
  }

  const rawTokens = toArray(meta, 'tokenizer.ggml.tokens');
  if (!rawTokens.every((t) => typeof t === 'string')) fail('tokenizer.ggml.tokens must hold strings');
  const tokens = rawTokens as string[];
  const types = meta['tokenizer.ggml.token_type'] === undefined ? [] : toArray(meta, 'tokenizer.ggml.token_type');
  if (types.length !== 0 && types.length !== tokens.length) {
    fail(`tokenizer.ggml.token_type has ${types.length} entries, tokens has ${tokens.length}`);
  }
  const merges = toArray(meta, 'tokenizer.ggml.merges').map((m, i) => {
    // byte-level tokens never contain a plain space (it is written Ġ), so one space separates the pair
    const parts = typeof m === 'string' ? m.split(' ') : [];
    if (parts.length !== 2) fail(`tokenizer.ggml.merges[${i}] is not "left right": ${JSON.stringify(m)}`);
    return parts;
  });

  const vocab: Record<string, number> = {};
  const addedTokens: Record<string, unknown>[] = [];
  const specialIds = new Set<number>();
  tokens.forEach((content, id) => {
    const type = Number(types[id] ?? 1);
    if (type === TOKEN_TYPE_CONTROL || type === TOKEN_TYPE_USER_DEFINED) {
      const special = type === TOKEN_TYPE_CONTROL;
      if (special) specialIds.add(id);
      addedTokens.push({
        id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special,
      });
    } else if (!(content in vocab)) {
      // first occurrence wins on duplicate strings, as in llama.cpp's text -> id map
      vocab[content] = id;
    }
  });

  const bosId = optId(meta, 'tokenizer.ggml.bos_token_id', tokens.length);
  const endIds = ['eos', 'eot', 'eom']
    .map((k) => optId(meta, `tokenizer.ggml.${k}_token_id`, tokens.length))
    .filter((id): id is number => id !== null);
  const addBosMeta = meta['tokenizer.ggml.add_bos_token'];
  const template = meta['tokenizer.chat_template'];

  const bosContent = bosId === null ? null : (tokens[bosId] ?? null);
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: LLAMA3_SPLIT_REGEX }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    // Tokenizer.encode adds BOS itself; the post-processor is kept to mirror Llama 3's tokenizer.json.
    post_processor: bosContent === null ? null : {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bosContent, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: bosContent, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: bosContent, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { [bosContent]: { id: bosContent, ids: [bosId], tokens: [bosContent] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      // llama.cpp's Llama 3 tokenizer (and Llama 3's own tokenizer.json) take a whole pre-token
      // that is already in the vocabulary as one token, without running the merges.
      ignore_merges: true,
      vocab,
      merges,
    },
  };

  return {
    tokenizerJson,
    tokens,
    specialIds,
    bosId,
    endIds,
    addBos: typeof addBosMeta === 'boolean' ? addBosMeta : true,
    chatTemplate: typeof template === 'string' && template.length > 0 ? template : null,
  };
}
