import { describe, expect, it } from 'vitest';
import { LLAMA3_CHAT_TEMPLATE, renderChat, type ChatMessage } from '../../src/services/text/chatTemplate';
import { Tokenizer } from '../../src/services/text/tokenizer';
import { readGgufMetadata } from './helpers/ggufMeta';
import { DEMO_Q8, loadGolden, TOKENIZER_DIR } from './helpers/paths';

const USER_TURN = /^<\|begin_of_text\|><\|start_header_id\|>user<\|end_header_id\|>\n\n([\s\S]*?)<\|eot_id\|>/;
const chats = Object.entries(loadGolden())
  .filter(([id]) => id.startsWith('chat_'))
  .map(([id, p]) => ({ id, ...p, user: USER_TURN.exec(p.text)![1]! }));

const hf = Tokenizer.fromHfDir(TOKENIZER_DIR);
const templates: [string, Tokenizer][] = [
  ['tokenizer_config.json', hf],
  ['clasp-demo-29M-q8_0.gguf', Tokenizer.fromGgufMetadata(readGgufMetadata(DEMO_Q8))],
];

describe.each(templates)('chat template from %s', (_name, tok) => {
  it('renders each golden chat prompt exactly, and encodes it to the golden ids', () => {
    expect(chats.map((c) => c.id)).toContain('chat_count');
    expect(chats.find((c) => c.id === 'chat_count')!.user).toBe('Count from 12 to 30.');
    for (const c of chats) {
      const text = renderChat(tok.chatTemplate, [{ role: 'user', content: c.user }], {
        addGenerationPrompt: true, bosToken: tok.bosToken, eosToken: tok.eosToken,
      });
      expect(text, c.id).toBe(c.text);
      expect(tok.encode(text), c.id).toEqual(c.prompt_ids);
    }
  });
});

describe('renderChat', () => {
  const opts = { addGenerationPrompt: true, bosToken: '<|begin_of_text|>', eosToken: '<|eot_id|>' };

  it('falls back to the built-in Llama 3 template, which matches the demo model', () => {
    expect(LLAMA3_CHAT_TEMPLATE).toBe(hf.chatTemplate);
    for (const c of chats) {
      expect(renderChat(null, [{ role: 'user', content: c.user }], opts)).toBe(c.text);
      expect(renderChat('', [{ role: 'user', content: c.user }], opts)).toBe(c.text);
    }
  });

  it('renders multi-turn conversations, with and without the generation prompt', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Bye' },
    ];
    const turns =
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>' +
      '<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>';
    expect(renderChat(null, messages, { ...opts, addGenerationPrompt: false })).toBe(turns);
    expect(renderChat(null, messages, opts)).toBe(`${turns}<|start_header_id|>assistant<|end_header_id|>\n\n`);
  });

  it('rejects bad messages with clear errors', () => {
    const bad = (m: unknown) => () => renderChat(null, m as ChatMessage[], opts);
    expect(bad('hi')).toThrow('Chat messages must be an array');
    expect(bad([null])).toThrow('Chat message 0 must be an object');
    expect(bad([{ role: 'tool', content: 'x' }])).toThrow(/Chat message 0 has role "tool"/);
    expect(bad([{ content: 'x' }])).toThrow(/has role undefined/);
    expect(bad([{ role: 'user', content: 'ok' }, { role: 'user', content: 3 }])).toThrow(
      'Chat message 1 (user) must have string content, got number',
    );
    expect(bad([{ role: 'user', content: null }])).toThrow(/got null/);
  });

  it('reports template errors', () => {
    const m: ChatMessage[] = [{ role: 'user', content: 'x' }];
    expect(() => renderChat('{% for m in messages %}', m, opts)).toThrow(/Invalid chat template/);
    expect(() => renderChat("{{ raise_exception('no system role') }}", m, opts)).toThrow(
      /Chat template failed to render: no system role/,
    );
  });
});
