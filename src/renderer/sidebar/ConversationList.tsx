// The conversation list: open, rename (inline), delete (with an inline confirmation).
import { useState } from 'react';
import type { Conversation } from '@shared/api';
import { Icon } from '../components/Icon';
import { fmtWhen } from '../lib/format';
import { useApp } from '../store';

function Item({ c, active, live }: { c: Conversation; active: boolean; live: boolean }) {
  const select = useApp((s) => s.selectConversation);
  const rename = useApp((s) => s.renameConversation);
  const remove = useApp((s) => s.deleteConversation);
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [title, setTitle] = useState(c.title);

  if (editing) {
    const commit = () => {
      setEditing(false);
      void rename(c.id, title);
    };
    return (
      <li className={`conv-item ${active ? 'active' : ''}`} data-testid="conversation-item" data-id={c.id}>
        <input
          className="conv-rename"
          data-testid="rename-input"
          aria-label="Conversation title"
          autoFocus
          value={title}
          maxLength={200}
          onChange={(e) => setTitle(e.target.value)}
          onBlur={commit}
          onKeyDown={(e) => {
            if (e.key === 'Enter') commit();
            if (e.key === 'Escape') {
              setTitle(c.title);
              setEditing(false);
            }
          }}
        />
      </li>
    );
  }

  return (
    <li className={`conv-item ${active ? 'active' : ''}`} data-testid="conversation-item" data-id={c.id} aria-current={active ? 'true' : undefined}>
      <button className="conv-open" onClick={() => void select(c.id)} title={c.title}>
        <span className="conv-title">
          {live && <span className="live-dot" aria-label="generating" />}
          {c.title || 'New chat'}
        </span>
        <span className="conv-when">{fmtWhen(c.updatedAt)}</span>
      </button>
      {confirming ? (
        <span className="conv-confirm">
          <button className="btn tiny danger" data-testid="delete-confirm" onClick={() => void remove(c.id)}>
            Delete
          </button>
          <button className="btn tiny ghost" onClick={() => setConfirming(false)}>
            Keep
          </button>
        </span>
      ) : (
        <span className="conv-actions">
          <button
            className="icon-btn"
            data-testid="rename"
            aria-label="Rename"
            title="Rename"
            onClick={() => {
              setTitle(c.title);
              setEditing(true);
            }}
          >
            <Icon name="edit" size={14} />
          </button>
          <button className="icon-btn" data-testid="delete" aria-label="Delete" title="Delete" onClick={() => setConfirming(true)}>
            <Icon name="trash" size={14} />
          </button>
        </span>
      )}
    </li>
  );
}

/** Whether a conversation matches a search: its title, or the text of its messages loaded so far. */
export function matchesSearch(c: Conversation, messages: { content: string }[] | undefined, q: string): boolean {
  const needle = q.trim().toLowerCase();
  if (!needle) return true;
  return c.title.toLowerCase().includes(needle) || !!messages?.some((m) => m.content.toLowerCase().includes(needle));
}

export function ConversationList() {
  const conversations = useApp((s) => s.conversations);
  const messages = useApp((s) => s.messages);
  const activeId = useApp((s) => s.activeId);
  const live = useApp((s) => s.activeReply?.conversationId ?? null);
  const loaded = useApp((s) => s.conversationsLoaded);
  const [q, setQ] = useState('');
  if (loaded && conversations.length === 0) return <p className="side-empty">No conversations yet. Start one with “New chat”.</p>;
  const shown = conversations.filter((c) => matchesSearch(c, messages[c.id], q));
  return (
    <>
      {conversations.length > 1 && (
        <label className="conv-search">
          <Icon name="search" size={13} />
          <input
            type="search"
            data-testid="conversation-search"
            placeholder="Search chats"
            aria-label="Search conversations by title or text"
            title="Titles, and the text of the chats opened since the app started"
            value={q}
            onChange={(e) => setQ(e.target.value)}
            onKeyDown={(e) => e.key === 'Escape' && setQ('')}
          />
        </label>
      )}
      <ul className="conv-list" aria-label="Conversations">
        {shown.map((c) => (
          <Item key={c.id} c={c} active={c.id === activeId} live={c.id === live} />
        ))}
      </ul>
      {shown.length === 0 && (
        <p className="side-empty" data-testid="conversation-search-empty">
          No chat matches “{q.trim()}”.
        </p>
      )}
    </>
  );
}
