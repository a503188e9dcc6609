// The ClaspApi for the renderer in a browser, against `clasp serve` (src/server/uiRoutes.ts):
//   calls:  POST /api/ui/call {channel, payload} -> {result} | {error: {message, code}}
//   events: one EventSource on /api/ui/events, opened while anyone listens.
// Same-origin only. The UI token (from the URL `clasp serve` printed, kept in sessionStorage) goes
// in the x-clasp-token header, and in the query for EventSource, which cannot send headers. No
// cookie: cookies are not isolated by port, so every other local web server would get it.
// No Node imports here.
import type { AppEvent, Channel, ClaspApi, ModelEvent, ReplyEvent, RequestOf, ResponseOf } from '@shared/api';

/** A failed call: `code` (bad_request, not_found, busy, unknown_channel, ui_token, ...) and the HTTP status. */
export class ClaspApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ClaspApiError';
  }
}

export interface HttpClientOptions {
  /** Prefix of the API paths; default '' (this origin). */
  base?: string;
  fetch?: typeof fetch;
  EventSource?: typeof EventSource;
  /** The per-launch UI token. */
  token?: string;
}

type Kind = 'reply' | 'model' | 'app';

export interface HttpClaspApi extends ClaspApi {
  /** Connection state of the event stream: after a reconnect, refetch what may have been missed. */
  onConnection(cb: (state: 'open' | 'reconnecting') => void): () => void;
}

export function createHttpClient(opts: HttpClientOptions = {}): HttpClaspApi {
  const base = opts.base ?? '';
  const doFetch = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const ES = opts.EventSource ?? (typeof EventSource !== 'undefined' ? EventSource : undefined);
  const listeners: Record<Kind, Set<(e: unknown) => void>> = { reply: new Set(), model: new Set(), app: new Set() };
  const connListeners = new Set<(state: 'open' | 'reconnecting') => void>();
  let source: EventSource | null = null;

  const total = () => listeners.reply.size + listeners.model.size + listeners.app.size;

  function open(): void {
    if (source || !ES) return;
    const query = opts.token ? `?token=${encodeURIComponent(opts.token)}` : '';
    const es = new ES(`${base}/api/ui/events${query}`, { withCredentials: false });
    source = es;
    for (const kind of ['reply', 'model', 'app'] as const) {
      es.addEventListener(kind, (ev) => {
        let data: unknown;
        try {
          data = JSON.parse((ev as MessageEvent<string>).data);
        } catch {
          return;
        }
        for (const cb of [...listeners[kind]]) {
          try {
            cb(data);
          } catch (err) {
            console.error(`[clasp] a ${kind} event listener threw`, err);
          }
        }
      });
    }
    es.addEventListener('open', () => connListeners.forEach((cb) => cb('open')));
    // EventSource reconnects by itself; say so, so the UI can refetch after it is back.
    es.addEventListener('error', () => connListeners.forEach((cb) => cb('reconnecting')));
  }

  function close(): void {
    if (source && total() === 0) {
      source.close();
      source = null;
    }
  }

  function on<T>(kind: Kind, cb: (e: T) => void): () => void {
    const f = cb as (e: unknown) => void;
    listeners[kind].add(f);
    open();
    return () => {
      listeners[kind].delete(f);
      close();
    };
  }

  return {
    shell: 'browser',
    async call<C extends Channel>(channel: C, payload: RequestOf<C>): Promise<ResponseOf<C>> {
      let res: Response;
      try {
        res = await doFetch(`${base}/api/ui/call`, {
          method: 'POST',
          credentials: 'omit',
          headers: { 'content-type': 'application/json', ...(opts.token ? { 'x-clasp-token': opts.token } : {}) },
          body: JSON.stringify({ channel, payload }),
        });
      } catch (e) {
        throw new ClaspApiError(`cannot reach the CLaSp server (${(e as Error).message}); is \`clasp serve\` still running?`, 'network', 0);
      }
      let body: { result?: unknown; error?: { message?: string; code?: string | null } } = {};
      try {
        body = (await res.json()) as typeof body;
      } catch {
        /* not JSON: handled below */
      }
      if (!res.ok) {
        const code = body.error?.code ?? (res.status === 401 ? 'ui_token' : 'http_error');
        const message =
          body.error?.message ??
          (res.status === 401 ? 'this page has no valid UI token: open the URL that `clasp serve` printed' : `${channel} failed with HTTP ${res.status}`);
        throw new ClaspApiError(message, code, res.status);
      }
      return (body.result ?? null) as ResponseOf<C>;
    },
    onReplyEvent: (cb: (e: ReplyEvent) => void) => on('reply', cb),
    onModelEvent: (cb: (e: ModelEvent) => void) => on('model', cb),
    onAppEvent: (cb: (e: AppEvent) => void) => on('app', cb),
    onConnection(cb) {
      connListeners.add(cb);
      return () => connListeners.delete(cb);
    },
  };
}
