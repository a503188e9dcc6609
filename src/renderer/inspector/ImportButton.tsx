// The inspector's Import button: reads a clasp-trace JSON file (at most 200 MB) and shows it.
import { useRef } from 'react';
import { Icon } from '../components/Icon';
import { errorText } from '../lib/client';
import { useApp } from '../store';

const MAX_IMPORT_BYTES = 200 * 1024 * 1024;

export function ImportButton() {
  const importText = useApp((s) => s.importTraceText);
  const toggle = useApp((s) => s.toggleInspector);
  const ref = useRef<HTMLInputElement>(null);
  const onFile = async (f: File | undefined) => {
    if (!f) return;
    if (f.size > MAX_IMPORT_BYTES) {
      useApp.setState({ importError: `${f.name}: the file is larger than 200 MB` });
      return;
    }
    let text: string;
    try {
      text = await f.text();
    } catch (e) {
      useApp.setState({ importError: `${f.name}: could not read the file (${errorText(e)})` });
      return;
    }
    if (importText(text, f.name)) toggle(true);
  };
  return (
    <label className="btn tiny ghost file-btn" title="Open a clasp-trace JSON file and replay it here">
      <Icon name="upload" size={14} /> Import
      <input
        ref={ref}
        type="file"
        accept=".json,application/json"
        data-testid="import-trace"
        className="visually-hidden"
        onChange={(e) => {
          void onFile(e.target.files?.[0]);
          e.target.value = '';
        }}
      />
    </label>
  );
}
