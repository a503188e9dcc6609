// A copy button that says whether it worked: a tick and "Copied" for a moment, or the reason it did not.
import { useEffect, useState } from 'react';
import { copyText } from '../lib/copy';
import { useApp } from '../store';
import { Icon } from './Icon';

export function CopyButton({ text, label = 'Copy', testId = 'copy' }: { text: () => string; label?: string; testId?: string }) {
  const [copied, setCopied] = useState(false);
  const toast = useApp((s) => s.showToast);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(t);
  }, [copied]);
  return (
    <button
      className={`icon-btn ${copied ? 'copied' : ''}`}
      data-testid={testId}
      data-copied={copied ? 'yes' : undefined}
      title={copied ? 'Copied' : label}
      aria-label={copied ? 'Copied' : label}
      onClick={async () => {
        if (await copyText(text())) setCopied(true);
        else toast('Could not copy: the browser refused the clipboard. Select the text and copy it instead.');
      }}
    >
      <Icon name={copied ? 'check' : 'copy'} size={14} />
      {copied && <span className="copied-text">Copied</span>}
    </button>
  );
}
