// Chat messages -> prompt text, through the model's own Jinja chat template (as transformers and
// llama.cpp do), so prompts match what the model was trained on. The rendered prompt is split into
// the template's own text and the messages' content, so that content is tokenized as plain text.
import { Template } from '@huggingface/jinja';
import type { PromptSegment } from './tokenizer';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface RenderChatOptions {
  /** End with the assistant header, so the model writes the reply next. */
  addGenerationPrompt: boolean;
  bosToken: string | null;
  eosToken: string | null;
}

/**
 * Meta's Llama 3 Instruct template (the one in Meta-Llama-3-8B-Instruct's tokenizer_config.json),
 * used when a model carries no template of its own.
 */
export const LLAMA3_CHAT_TEMPLATE =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

const ROLES: ReadonlySet<string> = new Set<ChatRole>(['system', 'user', 'assistant']);

// Parsing is the slow part and the same few templates are used over and over.
const compiled = new Map<string, Template>();

function compile(template: string): Template {
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new Error(`Invalid chat template: ${(e as Error).message}`);
    }
    if (compiled.size > 16) compiled.clear();
    compiled.set(template, t);
  }
  return t;
}

function validate(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages)) throw new TypeError('Chat messages must be an array');
  messages.forEach((m: unknown, i) => {
    if (m === null || typeof m !== 'object') throw new TypeError(`Chat message ${i} must be an object`);
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !ROLES.has(role)) {
      throw new TypeError(`Chat message ${i} has role ${JSON.stringify(role)}; expected "system", "user" or "assistant"`);
    }
    if (typeof content !== 'string') {
      throw new TypeError(`Chat message ${i} (${role}) must have string content, got ${content === null ? 'null' : typeof content}`);
    }
  });
}

/**
 * Renders messages with `template`; null or "" uses the built-in Llama 3 Instruct template.
 * The result still holds special tokens as text (e.g. "<|eot_id|>"); Tokenizer.encode parses them.
 */
export function renderChat(template: string | null, messages: ChatMessage[], opts: RenderChatOptions): string {
  validate(messages);
  const t = compile(template || LLAMA3_CHAT_TEMPLATE);
  try {
    return t.render({
      // copies, so a template cannot mutate the caller's objects
      messages: messages.map(({ role, content }) => ({ role, content })),
      add_generation_prompt: opts.addGenerationPrompt,
      bos_token: opts.bosToken ?? '',
      eos_token: opts.eosToken ?? '',
    });
  } catch (e) {
    throw new Error(`Chat template failed to render: ${(e as Error).message}`);
  }
}

// Private-use code points that mark where a message's content starts and ends in a rendered prompt.
const OPEN = '\uE000';
const CLOSE = '\uE001';
const MARKERS = /[\uE000\uE001]/g;

/**
 * Renders like renderChat, as segments: the template's text, and each message's content (which the
 * tokenizer then encodes as text only). The content is found by rendering it between markers; a
 * template that trims content (Llama 3's does) is matched by trimming the marked spans the same way.
 */
export function renderChatSegments(template: string | null, messages: ChatMessage[], opts: RenderChatOptions): PromptSegment[] {
  validate(messages);
  const clean = messages.map(({ role, content }) => ({ role, content: content.replace(MARKERS, '') }));
  const plain = renderChat(template, clean, opts);
  const marked = renderChat(template, clean.map((m) => ({ role: m.role, content: OPEN + m.content + CLOSE })), opts);
  const segments = splitMarked(marked);
  for (const trim of [false, true]) {
    const s = trim ? segments.map((x) => (x.content ? { text: x.text.trim(), content: true } : x)) : segments;
    if (s.map((x) => x.text).join('') === plain) return s.filter((x) => x.text.length > 0);
  }
  // The template changes content some other way: keep its marked rendering (content stays text).
  return segments.filter((x) => x.text.length > 0);
}

function splitMarked(marked: string): PromptSegment[] {
  const out: PromptSegment[] = [];
  let i = 0;
  while (i < marked.length) {
    const open = marked.indexOf(OPEN, i);
    if (open < 0) {
      out.push({ text: marked.slice(i).replace(MARKERS, ''), content: false });
      break;
    }
    out.push({ text: marked.slice(i, open).replace(MARKERS, ''), content: false });
    const close = marked.indexOf(CLOSE, open + 1);
    const end = close < 0 ? marked.length : close; // a template that cut the marker off: content to the end
    out.push({ text: marked.slice(open + 1, end).replace(MARKERS, ''), content: true });
    i = end + 1;
  }
  return out;
}
