// A reply rendered as Markdown. Parsing runs at most once per content change (memoised); the HTML
// is sanitised (see lib/markdown.ts), so model output can never run script or load anything.
import { memo, useMemo } from 'react';
import { renderMarkdown } from '../lib/markdown';

export const Markdown = memo(function Markdown({ text, streaming }: { text: string; streaming?: boolean }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  return <div className={`md ${streaming ? 'streaming' : ''}`} dangerouslySetInnerHTML={{ __html: html }} />;
});
