// A reply rendered as Markdown. Parsing runs at most once per content change (memoised); the HTML
// is sanitised (see lib/markdown.ts), so model output can never run script or load anything. Code
// blocks' copy buttons are plain HTML in it; one click handler here serves them all.
import { memo, useMemo } from 'react';
import { copyText } from '../lib/copy';
import { renderMarkdown } from '../lib/markdown';
import { useApp } from '../store';

async function onCodeCopy(e: React.MouseEvent<HTMLDivElement>) {
  const btn = (e.target as HTMLElement).closest('.code-copy') as HTMLButtonElement | null;
  if (!btn) return;
  const code = btn.closest('.code-block')?.querySelector('pre code')?.textContent ?? '';
  if (!(await copyText(code))) {
    useApp.getState().showToast('Could not copy: the browser refused the clipboard. Select the code and copy it instead.');
    return;
  }
  btn.textContent = 'Copied';
  btn.dataset.copied = 'yes';
  setTimeout(() => {
    btn.textContent = 'Copy';
    delete btn.dataset.copied;
  }, 1500);
}

export const Markdown = memo(function Markdown({ text, streaming }: { text: string; streaming?: boolean }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  return <div className={`md ${streaming ? 'streaming' : ''}`} onClick={(e) => void onCodeCopy(e)} dangerouslySetInnerHTML={{ __html: html }} />;
});
