// "Open model…" in the browser: a folder browser over `models:browse`, which lists only the allowed
// folders (--models-dir and where LM Studio, Ollama and the Hugging Face cache keep models) and
// checks every path on the server. Each model shows architecture, quantisation and size from its
// header; one that cannot load says why and cannot be picked. (Electron keeps its native dialog.)
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ModelFolder, ModelFolderEntry } from '@shared/api';
import { Icon } from '../components/Icon';
import { call, errorText } from '../lib/client';
import { fmtBytes } from '../lib/format';

/** "llama · Q8_0 · 29 MB". */
function about(e: ModelFolderEntry): string {
  return [e.arch, e.quant, e.bytes > 0 ? fmtBytes(e.bytes) : null].filter(Boolean).join(' · ');
}

export function OpenModelDialog({ onPick, onClose }: { onPick: (path: string) => void; onClose: () => void }) {
  const [folder, setFolder] = useState<ModelFolder | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  const asked = useRef(0);

  const open = useCallback(async (path?: string) => {
    const n = ++asked.current; // only the latest answer is shown
    setLoading(true);
    try {
      const f = await call('models:browse', path === undefined ? {} : { path });
      if (n !== asked.current) return;
      setFolder(f);
      setError(null);
    } catch (e) {
      if (n === asked.current) setError(errorText(e));
    } finally {
      if (n === asked.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    void open();
    box.current?.focus();
  }, [open]);

  // Esc closes the dialog (captured first, so it does not also stop a reply being written).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      onClose();
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [onClose]);

  const choose = (e: ModelFolderEntry) => {
    if (e.supported === false) return;
    if (e.type === 'folder') void open(e.path);
    else {
      onPick(e.path);
      onClose();
    }
  };

  const entries = folder?.entries ?? [];
  const atTop = !folder || folder.path === null;
  return (
    <>
      <div className="dialog-backdrop" onClick={onClose} />
      <div className="open-model" role="dialog" aria-modal="true" aria-label="Open model" data-testid="model-browser" data-loading={loading ? 'yes' : 'no'} tabIndex={-1} ref={box}>
        <header className="open-model-head">
          <h2>Open model</h2>
          <button className="icon-btn" data-testid="model-browser-close" aria-label="Close" title="Close (Esc)" onClick={onClose}>
            <Icon name="close" />
          </button>
        </header>
        <div className="open-model-where">
          <button
            className="btn tiny ghost"
            data-testid="model-browser-up"
            disabled={atTop}
            title={folder?.parent ? 'The folder above' : 'The allowed folders'}
            onClick={() => void open(folder?.parent ?? undefined)}
          >
            <Icon name="chevronLeft" size={12} /> Up
          </button>
          <span className="open-model-path" data-testid="model-browser-path" title={folder?.path ?? undefined}>
            {folder?.label ?? 'Allowed folders'}
          </span>
        </div>
        {error && (
          <div className="open-model-error" data-testid="model-browser-error" role="alert">
            {error}
          </div>
        )}
        <ul className="open-model-list">
          {entries.map((e) => (
            <li key={e.path + e.name}>
              <button
                className={`open-model-entry ${e.type}`}
                data-testid="model-browser-entry"
                data-type={e.type}
                data-name={e.name}
                data-supported={e.supported === false ? 'no' : 'yes'}
                disabled={e.supported === false}
                title={e.supported === false ? `Cannot open: ${e.reason}` : e.path}
                onClick={() => choose(e)}
              >
                <Icon name={e.type === 'folder' ? 'folder' : 'layers'} size={14} />
                <span className="open-model-name">{e.name}</span>
                {e.type === 'model' && <span className="open-model-about">{about(e)}</span>}
                {e.supported === false && (
                  <span className="open-model-reason" data-testid="model-browser-reason">
                    Cannot open: {e.reason}
                  </span>
                )}
              </button>
            </li>
          ))}
        </ul>
        {!loading && !error && entries.length === 0 && (
          <p className="open-model-empty" data-testid="model-browser-empty">
            {atTop
              ? 'There is no folder to open models from: start clasp serve with --models-dir DIR, or keep models where LM Studio, Ollama or the Hugging Face cache keep them.'
              : 'No models or folders here.'}
          </p>
        )}
        {folder?.truncated && <p className="open-model-empty">Only the first {entries.length} entries are shown.</p>}
        <p className="open-model-note">
          Only --models-dir and the folders where LM Studio, Ollama and the Hugging Face cache keep models are listed; nothing in them is changed.
        </p>
      </div>
    </>
  );
}
