// Markdown to sanitised HTML for replies. Raw HTML in a reply is shown as text, never interpreted:
// marked's html tokens are escaped, and DOMPurify then strips anything executable that a link or
// image could still smuggle in (javascript: URLs, event handlers). Images are not loaded (CSP).
import { Marked, type Tokens } from 'marked';
import DOMPurify from 'dompurify';
import { escapeHtml, highlight } from './highlight';

const md = new Marked({ gfm: true, breaks: true, async: false });
md.use({
  renderer: {
    html(token: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(token.text);
    },
    code(token: Tokens.Code): string {
      // A labelled block with a copy button (Markdown.tsx handles its clicks) and light highlighting.
      const lang = (token.lang ?? '').trim().split(/\s+/)[0]?.replace(/[^\w#+.-]/g, '') ?? '';
      const body = lang ? highlight(token.text, lang) : escapeHtml(token.text);
      return (
        `<div class="code-block" data-lang="${escapeHtml(lang || 'text')}">` +
        `<div class="code-head"><span class="code-lang" data-testid="code-lang">${escapeHtml(lang || 'text')}</span>` +
        `<button type="button" class="code-copy" data-testid="code-copy">Copy</button></div>` +
        `<pre><code${lang ? ` class="language-${escapeHtml(lang)}"` : ''}>${body}</code></pre></div>`
      );
    },
    checkbox({ checked }: Tokens.Checkbox): string {
      // A task list's box, drawn (a disabled <input> reads as an empty field in some themes).
      return `<span class="task-box ${checked ? 'done' : ''}" data-testid="task-box" data-checked="${checked ? 'yes' : 'no'}" role="img" aria-label="${checked ? 'done' : 'not done'}">${checked ? '☑' : '☐'}</span> `;
    },
    tablecell(token: Tokens.TableCell): string {
      // Alignment as a class too: the align attribute alone is overridden by the table's styles.
      const tag = token.header ? 'th' : 'td';
      const align = token.align ? ` align="${token.align}" class="al-${token.align}"` : '';
      return `<${tag}${align}>${this.parser.parseInline(token.tokens)}</${tag}>\n`;
    },
    image(token: Tokens.Image): string {
      // no remote content: show the alt text and the address instead of loading it
      return `<span class="md-image">[image: ${escapeHtml(token.text || '')}] ${escapeHtml(token.href || '')}</span>`;
    },
  },
});

let hooked = false;
function purifier() {
  if (!hooked) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A') {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer');
      }
    });
    hooked = true;
  }
  return DOMPurify;
}

/** Markdown to HTML, before sanitising (tested in Node, where there is no DOM for DOMPurify). */
export function markdownHtml(src: string): string {
  return md.parse(src) as string;
}

export function renderMarkdown(src: string): string {
  const html = markdownHtml(src);
  return purifier().sanitize(html, {
    ALLOWED_TAGS: ['p', 'br', 'strong', 'em', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'span', 'div', 'button'],
    ALLOWED_ATTR: ['href', 'title', 'class', 'type', 'align', 'start', 'target', 'rel', 'role', 'aria-label', 'data-lang', 'data-testid', 'data-checked'],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  });
}
