// The main process's security rules, kept free of Electron's runtime so that unit tests can run them
// (test/node/mainProcess.test.ts): which URLs are the app's own, which IPC senders are trusted, and
// when a link may open in the system browser.
import type { HandlerDetails, IpcMainInvokeEvent, WebContents } from 'electron';

/**
 * True when `u` is on the app's own origin. Protocol and host are compared, not `URL.origin`: Node
 * gives every non-special scheme (app://studio) the origin "null", which would match nothing.
 */
export function isAppUrl(u: string, appOrigin: string): boolean {
  try {
    const a = new URL(u);
    const b = new URL(appOrigin);
    return a.protocol === b.protocol && a.host === b.host && a.host !== '';
  } catch {
    return false;
  }
}

/** Only the app's own window, its top frame, showing the app's own origin. */
export function isTrustedSender(e: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>, appContents: WebContents | null, appOrigin: string): boolean {
  const frame = e.senderFrame;
  return !!appContents && !appContents.isDestroyed() && e.sender === appContents && !!frame && frame.parent === null && isAppUrl(frame.url, appOrigin);
}

/** The URL when it may go to the system browser (http or https only), else null. */
export function externalUrl(u: string): string | null {
  try {
    const p = new URL(u).protocol;
    return p === 'https:' || p === 'http:' ? u : null;
  } catch {
    return null;
  }
}

/** A user's click or key press, as Electron's `input-event` reports it. */
const GESTURES = new Set(['mouseDown', 'mouseUp', 'rawKeyDown', 'keyDown', 'gestureTap', 'touchEnd']);
/** How long after a click a new-window request still counts as that click's. */
export const GESTURE_WINDOW_MS = 1000;

/**
 * Remembers the last click or key press in the window, so that a link opens in the system browser
 * only right after the user acted, never because a page (a reply's markup) asked by itself.
 */
export class GestureTracker {
  private last = -Infinity;
  constructor(private readonly now: () => number = Date.now) {}

  note(inputType: string): void {
    if (GESTURES.has(inputType)) this.last = this.now();
  }

  recent(): boolean {
    return this.now() - this.last <= GESTURE_WINDOW_MS;
  }
}

export interface NavigationDeps {
  appOrigin: string;
  openExternal: (url: string) => void;
  gestures: GestureTracker;
}

/**
 * The window's navigation rules: no navigation or redirect away from the app, no new windows, no
 * webviews. A link the user clicked (target=_blank, as replies render links) opens in the system
 * browser when it is http(s); a navigation never opens anything.
 */
export function installNavigationRules(wc: WebContents, deps: NavigationDeps): void {
  wc.on('input-event', (_e, input) => deps.gestures.note(input.type));
  wc.setWindowOpenHandler((details: HandlerDetails) => {
    const url = externalUrl(details.url);
    if (url && deps.gestures.recent() && details.disposition !== 'other') deps.openExternal(url);
    return { action: 'deny' };
  });
  wc.on('will-navigate', (e, url) => {
    if (!isAppUrl(url, deps.appOrigin)) e.preventDefault();
  });
  wc.on('will-redirect', (e, url) => {
    if (!isAppUrl(url, deps.appOrigin)) e.preventDefault();
  });
  wc.on('will-attach-webview', (e) => e.preventDefault());
}
