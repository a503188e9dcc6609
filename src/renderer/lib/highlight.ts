// A tiny syntax highlighter for code blocks in replies: comments, strings, numbers and keywords of
// the common languages, in one left-to-right pass. Not a parser: it only colours, so a wrong guess
// costs a colour, never text. Returns escaped HTML with <span class="hl-…"> around tokens.

const KEYWORDS = new Set(
  (
    'as async await break case catch class const continue def default del do elif else enum export extends false final finally fn for from func function ' +
    'go if impl import in interface is lambda let loop match mod module mut new nil none not null or and package pass private protected pub public ' +
    'raise return self static struct super switch this throw trait true try type typeof use var void while with yield True False None int float ' +
    'bool char string str double long unsigned auto namespace template typename include define echo then fi done esac local'
  ).split(' '),
);

/** Languages whose comments start with '#' rather than '//'. */
const HASH_COMMENTS = new Set(['python', 'py', 'bash', 'sh', 'shell', 'zsh', 'ruby', 'rb', 'yaml', 'yml', 'toml', 'r', 'perl', 'make', 'makefile', 'dockerfile']);

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export function highlight(code: string, lang: string): string {
  const l = lang.toLowerCase();
  const hash = HASH_COMMENTS.has(l);
  const slash = !hash || l === 'php';
  // Order matters: comments and strings first, so keywords inside them stay plain.
  const parts = [
    slash ? String.raw`\/\/[^\n]*|\/\*[\s\S]*?\*\/` : null,
    hash ? String.raw`#[^\n]*` : null,
    String.raw`"""[\s\S]*?"""|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|` + '`(?:\\\\.|[^`\\\\])*`',
    String.raw`\b(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\b`,
    String.raw`\b[A-Za-z_][A-Za-z0-9_]*\b`,
  ].filter(Boolean);
  const re = new RegExp(parts.join('|'), 'g');
  let out = '';
  let last = 0;
  for (let m = re.exec(code); m; m = re.exec(code)) {
    const t = m[0];
    out += escapeHtml(code.slice(last, m.index));
    last = m.index + t.length;
    const c = t[0];
    const cls =
      c === '/' || c === '#'
        ? 'hl-com'
        : c === '"' || c === "'" || c === '`'
          ? 'hl-str'
          : /\d/.test(c)
            ? 'hl-num'
            : KEYWORDS.has(t)
              ? 'hl-kw'
              : null;
    out += cls ? `<span class="${cls}">${escapeHtml(t)}</span>` : escapeHtml(t);
  }
  return out + escapeHtml(code.slice(last));
}
