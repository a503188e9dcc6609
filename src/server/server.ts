// The local HTTP server behind `clasp serve`: the web UI and the OpenAI-compatible API on one port.
// It binds to 127.0.0.1 unless told otherwise, and checks every request before any route sees it:
//   - Host must name this server (against DNS rebinding); a browser Origin must be this server's;
//   - UI routes need the per-launch UI token (given in the URL that `clasp serve` prints, then
//     kept in an HttpOnly SameSite=Strict cookie);
//   - /v1 routes need the API key as a bearer token when one is set.
// Routes are extensions: the OpenAI API and the app's UI API each register one.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import * as path from 'node:path';
import { HttpError, sendError, sendJson } from './http';
import type { ModelManager } from '../services/ModelManager';

export interface ServerOptions {
  models: ModelManager;
  host?: string;
  port?: number;
  apiKey?: string;
  /** Folder of the built renderer (index.html and assets); the UI is off when absent. */
  staticDir?: string;
  uiToken?: string;
  limits?: Partial<ServerLimits>;
}

export interface ServerLimits {
  maxBodyBytes: number;
  maxTokens: number;
  queueLength: number;
  /** How long a request body may take to arrive (ms); a slower client gets 408. */
  bodyTimeoutMs?: number;
}

export const DEFAULT_LIMITS: ServerLimits = { maxBodyBytes: 1 << 20, maxTokens: 4096, queueLength: 32, bodyTimeoutMs: 30_000 };

export interface RequestContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  /** The request carried the UI token (header x-clasp-token or the cookie). */
  ui: boolean;
  /** The request may use /v1 (no API key configured, or the right bearer token). */
  api: boolean;
  server: ClaspServer;
}

export interface ServerExtension {
  name: string;
  /** Returns true when it handled the request. Throwing an HttpError sends it as an error reply. */
  handle(ctx: RequestContext): Promise<boolean> | boolean;
  /** WebSocket upgrades (already checked for Host, Origin and the UI token). */
  upgrade?(req: http.IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean;
  /** Finish or cancel work in flight; called on shutdown. */
  close?(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.ico': 'image/x-icon', '.woff2': 'font/woff2',
};

// The UI's content security policy: our own scripts and styles only, and connections to this origin.
export const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

export class ClaspServer {
  readonly http: http.Server;
  readonly limits: ServerLimits;
  readonly uiToken: string;
  readonly extensions: ServerExtension[] = [];
  private port = 0;
  private closing = false;
  private readonly sockets = new Set<Duplex>();

  constructor(readonly opts: ServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.uiToken = opts.uiToken ?? crypto.randomBytes(18).toString('base64url');
    this.http = http.createServer((req, res) => void this.onRequest(req, res));
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.http.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    // Slow clients: headers must arrive promptly; idle keep-alive sockets are closed.
    this.http.headersTimeout = 15_000;
    this.http.requestTimeout = 0; // long streaming replies are fine; body reads have their own timeout
    this.http.keepAliveTimeout = 5_000;
  }

  get models(): ModelManager {
    return this.opts.models;
  }

  use(ext: ServerExtension): this {
    this.extensions.push(ext);
    return this;
  }

  async listen(): Promise<{ host: string; port: number; url: string; uiUrl: string }> {
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.opts.port ?? 8080, host, () => resolve());
    });
    const addr = this.http.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
    const url = `http://${shown}:${this.port}`;
    return { host, port: this.port, url, uiUrl: `${url}/?token=${this.uiToken}` };
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Stops accepting requests, lets extensions finish or cancel their work, then closes. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const done = new Promise<void>((resolve) => this.http.close(() => resolve()));
    await Promise.all(this.extensions.map((e) => e.close?.().catch(() => undefined)));
    this.http.closeIdleConnections();
    const t = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 2000);
    await done;
    clearTimeout(t);
  }

  /** Hosts a request may name: this server's loopback names and the --host it was given. */
  private allowedHosts(): Set<string> {
    const p = this.port;
    const hosts = new Set([`127.0.0.1:${p}`, `localhost:${p}`, `[::1]:${p}`]);
    const h = this.opts.host;
    if (h && h !== '0.0.0.0' && h !== '::') hosts.add(h.includes(':') ? `[${h}]:${p}` : `${h}:${p}`);
    return hosts;
  }

  private checkOrigin(req: http.IncomingMessage): void {
    const host = (req.headers.host ?? '').toLowerCase();
    const bindsAll = this.opts.host === '0.0.0.0' || this.opts.host === '::';
    if (!bindsAll && !this.allowedHosts().has(host)) {
      throw new HttpError(403, `Host "${host}" is not this server (DNS rebinding protection)`, 'invalid_request_error', 'bad_host');
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) {
      throw new HttpError(403, `cross-origin requests are not allowed (Origin ${origin})`, 'invalid_request_error', 'bad_origin');
    }
  }

  private hasUiToken(req: http.IncomingMessage, url: URL): boolean {
    const given = (req.headers['x-clasp-token'] as string | undefined) ?? cookie(req, 'clasp_ui') ?? url.searchParams.get('token') ?? '';
    return safeEqual(given, this.uiToken);
  }

  private hasApiKey(req: http.IncomingMessage): boolean {
    const key = this.opts.apiKey;
    if (!key) return true;
    const auth = req.headers.authorization ?? '';
    return auth.startsWith('Bearer ') && safeEqual(auth.slice(7), key);
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      res.setHeader('x-content-type-options', 'nosniff');
      this.checkOrigin(req);
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (this.closing) {
        res.setHeader('connection', 'close');
        throw new HttpError(503, 'the server is shutting down', 'server_error', 'shutting_down');
      }
      if (url.pathname === '/health') {
        const m = this.models.current;
        sendJson(res, 200, { status: 'ok', model: m ? m.info.name : null, busy: m ? m.busy : false });
        return;
      }
      const ctx: RequestContext = { req, res, url, ui: this.hasUiToken(req, url), api: this.hasApiKey(req), server: this };
      for (const ext of this.extensions) {
        if (await ext.handle(ctx)) return;
      }
      if ((req.method === 'GET' || req.method === 'HEAD') && this.opts.staticDir) {
        this.serveStatic(ctx);
        return;
      }
      throw new HttpError(404, `no route for ${req.method} ${url.pathname}`, 'invalid_request_error', 'not_found');
    } catch (e) {
      sendError(res, e);
    }
  }

  private serveStatic(ctx: RequestContext): void {
    const { req, res, url } = ctx;
    const root = path.resolve(this.opts.staticDir!);
    let rel = decodeURIComponent(url.pathname);
    if (rel === '/' || rel === '/index.html') {
      if (!ctx.ui) {
        throw new HttpError(401, 'open the URL that `clasp serve` printed (it carries the UI token)', 'authentication_error', 'ui_token');
      }
      rel = '/index.html';
      // Keep the token in a cookie so reloads and asset requests need no query string.
      res.setHeader('set-cookie', `clasp_ui=${this.uiToken}; HttpOnly; SameSite=Strict; Path=/`);
    }
    const file = path.resolve(root, '.' + rel);
    if (!file.startsWith(root + path.sep)) throw new HttpError(404, 'not found');
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      throw new HttpError(404, `no such file: ${rel}`, 'invalid_request_error', 'not_found');
    }
    if (!st.isFile()) throw new HttpError(404, 'not found');
    res.writeHead(200, {
      'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
      'content-length': st.size,
      'content-security-policy': CSP,
      'cache-control': rel === '/index.html' ? 'no-store' : 'max-age=3600',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
    if (req.method === 'HEAD') res.end();
    else fs.createReadStream(file).pipe(res);
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    try {
      this.checkOrigin(req);
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (!this.hasUiToken(req, url)) throw new HttpError(401, 'missing UI token');
      for (const ext of this.extensions) if (ext.upgrade?.(req, socket, head, url)) return;
      throw new HttpError(404, 'no such socket');
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    }
  }
}

function cookie(req: http.IncomingMessage, name: string): string | undefined {
  const raw = req.headers.cookie;
  if (!raw) return undefined;
  for (const part of raw.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
