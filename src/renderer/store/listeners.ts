// Wires the API's event streams to the store. Reply events can arrive dozens of times a second;
// they are queued and applied once per animation frame (or after 200 ms when frames are paused,
// as in a hidden tab), so a long reply costs one render per frame at most.
import type { ReplyEvent } from '@shared/api';
import { onAppEvent, onModelEvent, onReplyEvent } from '../lib/client';
import { useApp } from './index';

export function startListeners(): () => void {
  let queue: ReplyEvent[] = [];
  let raf = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const flush = () => {
    if (raf) cancelAnimationFrame(raf);
    if (timer) clearTimeout(timer);
    raf = 0;
    timer = null;
    const batch = queue;
    queue = [];
    if (batch.length) useApp.getState().applyReplyEvents(batch);
  };

  const offReply = onReplyEvent((e) => {
    queue.push(e);
    // Start, done and error are rare and change what buttons show: apply them without waiting.
    if (e.type === 'start' || e.type === 'done' || e.type === 'error') {
      flush();
      return;
    }
    if (!raf) raf = requestAnimationFrame(flush);
    if (!timer) timer = setTimeout(flush, 200);
  });
  const offModel = onModelEvent((e) => useApp.getState().applyModelEvent(e));
  // Changes made elsewhere (the Electron menu, another browser tab, a reply that ended).
  const offApp = onAppEvent((e) => useApp.getState().applyAppEvent(e));

  return () => {
    offReply();
    offModel();
    offApp();
    flush();
  };
}
