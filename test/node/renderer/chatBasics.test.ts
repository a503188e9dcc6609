// Chat basics in the renderer's lib and slices: code blocks (language label, copy button, highlighting),
// task lists and table alignment in the Markdown HTML; the tiny highlighter; errors and drafts that
// belong to their conversation; conversation search.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Conversation } from '../../../src/shared/api';
import { defaultChatSettings } from '../../../src/shared/settings';
import { highlight } from '../../../src/renderer/lib/highlight';
import { markdownHtml } from '../../../src/renderer/lib/markdown';

vi.mock('../../../src/renderer/lib/client', async (original) => ({ ...(await original<object>()), call: vi.fn() }));
const { useApp } = await import('../../../src/renderer/store');
const { matchesSearch } = await import('../../../src/renderer/sidebar/ConversationList');

const initial = useApp.getState();
beforeEach(() => useApp.setState(initial, true));

describe('Markdown for replies', () => {
  it('labels a code block with its language, gives it a copy button and highlights it', () => {
    const html = markdownHtml('```python\n# add\ndef f(x):\n    return x + 1  # one\n```');
    expect(html).toContain('data-testid="code-lang">python<');
    expect(html).toContain('class="code-copy"');
    expect(html).toContain('<span class="hl-kw">def</span>');
    expect(html).toContain('<span class="hl-kw">return</span>');
    expect(html).toContain('<span class="hl-com"># add</span>');
    expect(html).toContain('<span class="hl-num">1</span>');
    // a block without a language is labelled "text" and left plain
    const plain = markdownHtml('```\nif x < 1\n```');
    expect(plain).toContain('>text<');
    expect(plain).toContain('if x &lt; 1');
    expect(plain).not.toContain('hl-');
  });

  it('draws task list boxes and keeps table alignment', () => {
    const html = markdownHtml('- [x] done\n- [ ] todo\n\n| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |');
    expect(html).toContain('data-checked="yes"');
    expect(html).toContain('data-checked="no"');
    expect(html).not.toContain('<input');
    expect(html).toMatch(/<td align="left" class="al-left">1<\/td>/);
    expect(html).toMatch(/<td align="center" class="al-center">2<\/td>/);
    expect(html).toMatch(/<th align="right" class="al-right">c<\/th>/);
  });

  it('highlights strings and comments without colouring keywords inside them, and escapes HTML', () => {
    const out = highlight('const s = "if <b>"; // return', 'js');
    expect(out).toBe('<span class="hl-kw">const</span> s = <span class="hl-str">&quot;if &lt;b&gt;&quot;</span>; <span class="hl-com">// return</span>');
    expect(highlight('x = 1 # not a // comment', 'python')).toContain('<span class="hl-com"># not a // comment</span>');
  });
});

describe('per-conversation errors and drafts', () => {
  it("shows a conversation's error only there, app-wide errors everywhere, and dismisses what is shown", () => {
    useApp.setState({ activeId: 'c1' });
    const s = useApp.getState();
    s.pushError('reply failed'); // the open conversation's
    s.pushError('model failed', null);
    s.pushError('other failed', 'c2');
    const shown = (active: string) => useApp.getState().errors.filter((e) => e.conversationId === null || e.conversationId === active).map((e) => e.text);
    expect(shown('c1')).toEqual(['reply failed', 'model failed']);
    expect(shown('c2')).toEqual(['model failed', 'other failed']);
    useApp.getState().dismissError();
    expect(useApp.getState().errors.map((e) => e.text)).toEqual(['other failed']);
  });

  it('keeps a draft per conversation', () => {
    const s = useApp.getState();
    s.setDraft('c1', 'half a thought');
    s.setDraft('c2', 'another');
    s.setDraft('c2', '');
    expect(useApp.getState().drafts).toEqual({ c1: 'half a thought' });
  });

  it('searches titles and loaded message text', () => {
    const c: Conversation = { id: 'c', title: 'Lighthouse story', systemPrompt: '', settings: defaultChatSettings(), createdAt: 1, updatedAt: 1 };
    expect(matchesSearch(c, undefined, 'light')).toBe(true);
    expect(matchesSearch(c, [{ content: 'a poem about the sea' }], 'SEA')).toBe(true);
    expect(matchesSearch(c, [{ content: 'a poem' }], 'whale')).toBe(false);
    expect(matchesSearch(c, undefined, '  ')).toBe(true);
  });
});
