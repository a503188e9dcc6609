// The app's UI API over HTTP, for the renderer running in a browser against `clasp serve`:
//   POST /api/ui/call    {channel, payload}  ->  200 {result} | 4xx/5xx {error: {message, type, code}}
//   GET  /api/ui/events  server-sent events: `event: reply` (ReplyEvent), `event: model` (ModelEvent),
//                        `event: app` (AppEvent), each with one JSON object as data.
// Both need the per-launch UI token (the x-clasp-token header, or ?token= for EventSource); the
// server has already checked Host and Origin. Bodies must be JSON, within the server's --max-body.
import type { ServerResponse } from 'node:http';
import type { AppService } from '../app/AppService';
import { ApiError } from '../app/AppService';
import { HttpError, readJson, sendError, sendJson } from './http';
import type { RequestContext, ServerExtension } from './server';

export interface UiExtensionOptions {
  /** Largest request body (trace imports are the big ones). Default: the server's maxBodyBytes (--max-body). */
  maxBodyBytes?: number;
  /** Comment lines keep idle event streams open through proxies. Default 15 s. */
  heartbeatMs?: number;
}

export const UI_CALL_PATH = '/api/ui/call';
export const UI_EVENTS_PATH = '/api/ui/events';

export function createUiExtension(app: AppService, opts: UiExtensionOptions = {}): ServerExtension {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const streams = new Set<ServerResponse>();

  const requireUi = (ctx: RequestContext) => {
    if (!ctx.ui) {
      throw new HttpError(401, 'the UI API needs the UI token: open the URL that `clasp serve` printed', 'authentication_error', 'ui_token');
    }
  };

  async function call(ctx: RequestContext): Promise<void> {
    const { req, res } = ctx;
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      throw new HttpError(405, `${UI_CALL_PATH} takes POST`, 'invalid_request_error', 'method_not_allowed');
    }
    requireUi(ctx);
    const type = String(req.headers['content-type'] ?? '');
    if (!/^application\/json\b/i.test(type)) {
      throw new HttpError(415, 'send the request as application/json', 'invalid_request_error', 'unsupported_media_type');
    }
    const body = await readJson(req, opts.maxBodyBytes ?? ctx.server.limits.maxBodyBytes, ctx.server.limits.bodyTimeoutMs);
    if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof (body as { channel?: unknown }).channel !== 'string') {
      throw new HttpError(400, 'expected {"channel": string, "payload": object}', 'invalid_request_error', 'bad_request');
    }
    const { channel, payload } = body as { channel: string; payload?: unknown };
    try {
      const result = await app.call(channel, payload);
      sendJson(res, 200, { result: result === undefined ? null : result }, { 'cache-control': 'no-store' });
    } catch (e) {
      if (e instanceof ApiError) throw new HttpError(e.status, e.message, e.status >= 500 ? 'server_error' : 'invalid_request_error', e.code);
      throw e;
    }
  }

  function events(ctx: RequestContext): void {
    const { req, res } = ctx;
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      throw new HttpError(405, `${UI_EVENTS_PATH} takes GET`, 'invalid_request_error', 'method_not_allowed');
    }
    requireUi(ctx);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    streams.add(res);
    res.socket?.setNoDelay(true);
    const send = (event: string) => (data: unknown) => {
      if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    // A first comment so clients see the stream open (EventSource fires 'open' on the headers).
    res.write(': connected\n\n');
    const offs = [app.onReplyEvent(send('reply')), app.onModelEvent(send('model')), app.onAppEvent(send('app'))];
    const beat = setInterval(() => {
      if (!res.writableEnded) res.write(': keep-alive\n\n');
    }, heartbeatMs);
    beat.unref();
    const cleanup = () => {
      clearInterval(beat);
      for (const off of offs) off();
      streams.delete(res);
    };
    res.on('close', cleanup);
    req.on('close', cleanup);
  }

  return {
    name: 'ui',
    async handle(ctx) {
      const p = ctx.url.pathname;
      if (p === UI_CALL_PATH) {
        await call(ctx);
        return true;
      }
      if (p === UI_EVENTS_PATH) {
        events(ctx);
        return true;
      }
      if (p.startsWith('/api/ui/')) {
        requireUi(ctx);
        sendError(ctx.res, new HttpError(404, `no UI route ${p}; use POST ${UI_CALL_PATH} or GET ${UI_EVENTS_PATH}`, 'invalid_request_error', 'not_found'));
        return true;
      }
      return false;
    },
    async close() {
      for (const res of streams) res.end();
      streams.clear();
      await app.close();
    },
  };
}
