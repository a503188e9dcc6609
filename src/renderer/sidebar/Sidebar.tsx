// The left column: brand, new chat, the conversation list, the model picker and device, theme.
import { Icon } from '../components/Icon';
import { useApp } from '../store';
import type { Theme } from '../store/types';
import { ConversationList } from './ConversationList';
import { ModelPicker } from './ModelPicker';

const THEMES: { t: Theme; icon: 'monitor' | 'sun' | 'moon'; label: string }[] = [
  { t: 'system', icon: 'monitor', label: 'Follow the system' },
  { t: 'light', icon: 'sun', label: 'Light' },
  { t: 'dark', icon: 'moon', label: 'Dark' },
];

export function Sidebar() {
  const newChat = useApp((s) => s.newChat);
  const theme = useApp((s) => s.theme);
  const setTheme = useApp((s) => s.setTheme);
  return (
    <aside className="sidebar">
      <div className="brand">
        <Logo />
        <span>
          CLaSp <b>Studio</b>
        </span>
      </div>
      <button className="btn primary new-chat" data-testid="new-chat" onClick={() => void newChat()}>
        <Icon name="plus" /> New chat
      </button>
      <div className="side-scroll">
        <ConversationList />
      </div>
      <ModelPicker />
      <div className="theme-switch" role="group" aria-label="Theme">
        {THEMES.map(({ t, icon, label }) => (
          <button key={t} data-testid={`theme-${t}`} className={`icon-btn ${theme === t ? 'on' : ''}`} aria-pressed={theme === t} title={label} aria-label={label} onClick={() => setTheme(t)}>
            <Icon name={icon} size={14} />
          </button>
        ))}
      </div>
    </aside>
  );
}

function Logo() {
  // Stacked layers, some skipped: the idea of the app in one mark.
  const rows = [1, 0, 1, 1, 0, 1];
  return (
    <svg width="22" height="22" viewBox="0 0 22 22" aria-hidden="true">
      {rows.map((on, i) => (
        <rect key={i} x={on ? 3 : 7} y={2 + i * 3.3} width={on ? 16 : 8} height={2.2} rx={1.1} className={on ? 'logo-on' : 'logo-off'} />
      ))}
    </svg>
  );
}
