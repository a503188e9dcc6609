// The line under the inspector's header: what is shown (a live or stored reply, an imported trace, or
// a stored lab or compare run), and a way back to the last trace shown.
import { useApp } from '../store';
import { PinButton } from '../studio/AbCompare';
import type { Inspected } from './useInspected';

export function SourceLine({ ins }: { ins: Inspected }) {
  const source = useApp((s) => s.source);
  const title = useApp((s) => (source?.kind === 'message' ? s.conversations.find((c) => c.id === source.conversationId)?.title : undefined));
  const msgs = useApp((s) => (source?.kind === 'message' ? s.messages[source.conversationId] : undefined));
  const lastImport = useApp((s) => s.lastImport);
  const showImport = useApp((s) => s.showImport);
  const back =
    lastImport && source?.kind !== 'import' ? (
      <button className="btn tiny ghost back-import" data-testid="inspector-back-to-import" title="Show the imported trace again" onClick={showImport}>
        ↩ {lastImport.name}
      </button>
    ) : null;
  if (!source) return back ? <div className="source-line">{back}</div> : null;
  if (source.kind === 'import') {
    const t = ins.trace;
    return (
      <div className="source-line" data-testid="inspector-source">
        <span className="src-chip import" data-origin={source.origin ?? 'imported'}>
          {source.origin === 'lab' ? 'lab run' : source.origin === 'compare' ? 'compare run' : 'imported'}
        </span>
        <span className="src-name">{source.name}</span>
        {t && (
          <span className="dim">
            {t.model.name} · {t.config.mode} · {t.summary.n_generated} tokens
          </span>
        )}
        <span className="spacer" />
        <PinButton ins={ins} />
      </div>
    );
  }
  // Name the reply itself: which one of the conversation's replies, and the message it answers.
  const list = msgs ?? [];
  const at = list.findIndex((m) => m.id === source.messageId);
  const replies = list.filter((m) => m.role === 'assistant');
  const k = replies.findIndex((m) => m.id === source.messageId);
  const prompt = at > 0 ? [...list.slice(0, at)].reverse().find((m) => m.role === 'user')?.content : undefined;
  const short = (t: string) => (t.length > 60 ? `${t.slice(0, 59).trimEnd()}…` : t).replace(/\s+/g, ' ');
  return (
    <div className="source-line" data-testid="inspector-source" data-reply={k >= 0 ? k + 1 : undefined}>
      {ins.live ? <span className="src-chip live">● live</span> : <span className="src-chip">reply {k >= 0 ? `${k + 1} of ${replies.length}` : ''}{versionOf(ins)}</span>}
      <span className="src-name" title={`${prompt ?? ''}${title ? ` (in “${title}”)` : ''}`}>{prompt !== undefined ? `to “${short(prompt)}”` : (title ?? 'conversation')}</span>
      {ins.message?.stats && <span className="dim">{ins.message.stats.mode} · {ins.message.stats.n_generated} tokens</span>}
      <span className="spacer" />
      <PinButton ins={ins} />
      {back}
    </div>
  );
}

/** " · version 2 of 3" for a reply with versions. */
function versionOf(ins: Inspected): string {
  const v = ins.message?.versions;
  return v ? ` · version ${v.index + 1} of ${v.ids.length}` : '';
}
