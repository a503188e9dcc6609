// The app's frame: sidebar, chat and inspector, the theme on <html>, and the first loads.
import { useEffect } from 'react';
import { ChatView } from './chat/ChatView';
import { useScheme } from './hooks/useScheme';
import { Inspector } from './inspector/Inspector';
import { Sidebar } from './sidebar/Sidebar';
import { useApp } from './store';
import { startListeners } from './store/listeners';

export function App() {
  const scheme = useScheme();
  const inspectorOpen = useApp((s) => s.inspectorOpen);

  useEffect(() => {
    document.documentElement.dataset.theme = scheme;
  }, [scheme]);

  useEffect(() => {
    const stop = startListeners();
    const s = useApp.getState();
    void s.refreshModels();
    void s.loadConversations();
    return stop;
  }, []);

  return (
    <div className={`app ${inspectorOpen ? 'with-inspector' : ''}`}>
      <Sidebar />
      <ChatView />
      <Inspector />
    </div>
  );
}
