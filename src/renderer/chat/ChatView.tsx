// The middle column: the conversation's header (title, exports, token-fate toggle, inspector
// toggle), errors, settings, the system prompt, the messages and the composer.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { Message } from '@shared/api';
import { Icon } from '../components/Icon';
import { call, errorText } from '../lib/client';
import { downloadText } from '../lib/download';
import { SettingsPanel } from '../settings/SettingsPanel';
import { useApp } from '../store';
import { Composer } from './Composer';
import { ErrorBanner } from './ErrorBanner';
import { MessageItem } from './MessageItem';
import { DEFS, isDemoModel } from './ReplyStats';
import { FateLegend } from './TokenText';

const EMPTY: Message[] = [];

const SUGGESTIONS = [
  'Count from 1 to 30.',
  'Write a short story about a lighthouse keeper.',
  'Spell the word "transformer".',
  'Repeat after me: the quick brown fox jumps over the lazy dog.',
];

function SystemPrompt() {
  const conv = useApp((s) => s.conversations.find((c) => c.id === s.activeId) ?? null);
  const save = useApp((s) => s.updateSystemPrompt);
  const [text, setText] = useState(conv?.systemPrompt ?? '');
  const [focused, setFocused] = useState(false);
  useEffect(() => setText(conv?.systemPrompt ?? ''), [conv?.id, conv?.systemPrompt]);
  if (!conv) return null;
  return (
    <div className={`system-prompt ${focused ? 'focused' : ''} ${text ? 'filled' : ''}`}>
      <label htmlFor="system-prompt">System</label>
      <textarea
        id="system-prompt"
        data-testid="system-prompt"
        value={text}
        maxLength={20_000}
        rows={focused ? Math.min(8, Math.max(2, text.split('\n').length)) : 1}
        placeholder="Add a system prompt for this conversation (optional)"
        onFocus={() => setFocused(true)}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => {
          setFocused(false);
          void save(conv.id, text);
        }}
      />
    </div>
  );
}

function ExportChat() {
  const activeId = useApp((s) => s.activeId);
  const pushError = useApp((s) => s.pushError);
  const toast = useApp((s) => s.showToast);
  if (!activeId) return null;
  const run = async (format: 'markdown' | 'json') => {
    try {
      const r = await call('export:chat', { conversationId: activeId, format });
      if (r.savedTo) toast(`Saved to ${r.savedTo}`);
      else if (r.content !== undefined) downloadText(r.content, r.filename, r.mimeType);
    } catch (e) {
      pushError(`Could not export the chat: ${errorText(e)}`);
    }
  };
  return (
    <div className="seg" role="group" aria-label="Export chat">
      <span className="seg-label">
        <Icon name="download" size={14} /> Chat
      </span>
      <button className="btn tiny ghost" data-testid="export-chat-markdown" onClick={() => void run('markdown')} title="Export this conversation as Markdown">
        .md
      </button>
      <button className="btn tiny ghost" data-testid="export-chat-json" onClick={() => void run('json')} title="Export this conversation as JSON">
        .json
      </button>
    </div>
  );
}

function TopBar() {
  const conv = useApp((s) => s.conversations.find((c) => c.id === s.activeId) ?? null);
  const showFates = useApp((s) => s.showFates);
  const setShowFates = useApp((s) => s.setShowFates);
  const inspectorOpen = useApp((s) => s.inspectorOpen);
  const toggleInspector = useApp((s) => s.toggleInspector);
  return (
    <header className="topbar">
      <h1 className="conv-heading" title={conv?.title}>
        {conv ? conv.title || 'New chat' : 'CLaSp Studio'}
      </h1>
      <span className="spacer" />
      <label className="switch" title="Colour each token by its fate: accepted draft, correction or bonus">
        <input type="checkbox" data-testid="token-fate-toggle" checked={showFates} onChange={(e) => setShowFates(e.target.checked)} />
        <span className="switch-track" />
        Token fates
      </label>
      <ExportChat />
      <button
        className={`icon-btn ${inspectorOpen ? 'on' : ''}`}
        data-testid="inspector-toggle"
        aria-pressed={inspectorOpen}
        aria-label={inspectorOpen ? 'Hide the inspector' : 'Show the inspector'}
        title={inspectorOpen ? 'Hide the inspector' : 'Show the inspector'}
        onClick={() => toggleInspector()}
      >
        <Icon name="panel" size={16} />
      </button>
    </header>
  );
}

function EmptyState({ onPick }: { onPick(text: string): void }) {
  const model = useApp((s) => s.current);
  return (
    <div className="empty-state">
      <div className="empty-mark" aria-hidden="true">
        {Array.from({ length: 8 * 14 }, (_, i) => {
          const layer = Math.floor(i / 14);
          const round = i % 14;
          // a toy skip map: deeper layers skipped more often, the set shifting over rounds
          const on = layer > 1 && (layer * 5 + round * 3 + ((round * layer) % 4)) % 7 < layer / 2;
          return <span key={i} className={on ? 'on' : ''} style={{ animationDelay: `${round * 25}ms` }} />;
        })}
      </div>
      <h2>Chat with {model ? model.name : 'a local model'}</h2>
      <p>
        Replies are drafted with some of the model’s layers skipped and checked by the full model, so the text is exactly what the full model
        would write, and faster where the model and this machine allow. Whether speculation pays here is measured, not assumed: each reply
        says how fast it ran against plain decoding, and why. The inspector on the right shows which layers were skipped and how many drafts
        were accepted, live.
      </p>
      {isDemoModel(model?.name) && <p className="demo-note">{DEFS.demo}</p>}
      <div className="suggestions">
        {SUGGESTIONS.map((s) => (
          <button key={s} className="suggestion" onClick={() => onPick(s)}>
            {s}
          </button>
        ))}
      </div>
    </div>
  );
}

function MessageList({ onPick }: { onPick(text: string): void }) {
  const activeId = useApp((s) => s.activeId);
  const messages = useApp((s) => (s.activeId ? (s.messages[s.activeId] ?? EMPTY) : EMPTY));
  const busy = useApp((s) => !!s.activeReply || !!s.sending);
  const showFates = useApp((s) => s.showFates);
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  // Keep the newest text in view while streaming, unless the user scrolled up to read.
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [messages]);
  useEffect(() => {
    stick.current = true;
  }, [activeId]);

  const visible = messages.filter((m) => m.role !== 'system');
  return (
    <div
      className="messages"
      ref={ref}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
      }}
    >
      <div className="messages-inner">
        <SystemPrompt />
        {showFates && visible.some((m) => m.role === 'assistant') && <FateLegend />}
        {visible.length === 0 ? (
          <EmptyState onPick={onPick} />
        ) : (
          visible.map((m, i) => <MessageItem key={m.id} m={m} isLast={i === visible.length - 1} busy={busy} />)
        )}
      </div>
    </div>
  );
}

export function ChatView() {
  const settingsOpen = useApp((s) => s.settingsOpen);
  const toast = useApp((s) => s.toast);
  const [prefill, setPrefill] = useState<string | null>(null);
  const used = useCallback(() => setPrefill(null), []);
  return (
    <main className="chat">
      <TopBar />
      <ErrorBanner />
      {settingsOpen && <SettingsPanel />}
      <MessageList onPick={setPrefill} />
      <Composer prefill={prefill} onPrefillUsed={used} />
      {toast && (
        <div className="toast" role="status" data-testid="toast">
          {toast}
        </div>
      )}
    </main>
  );
}
