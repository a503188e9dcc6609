// The local HTTP server behind `clasp serve`: the web UI and the OpenAI-compatible API on one port.
// It binds to 127.0.0.1 unless told otherwise, and checks every request before any route sees it:
//   - Host must name this server (against DNS rebinding): loopback, the --host address, and when
//     binding all interfaces, this machine's interface addresses; a browser Origin must be this server's;
//   - UI routes need the per-launch UI token: in the URL that `clasp serve` prints (?token=), then
//     kept by the page in sessionStorage and sent as the x-clasp-token header (the query for
//     EventSource). No cookie: cookies are not isolated by port, so every other local web server
//     would receive it. A request is accepted when any credential it carries matches;
//   - /v1 routes need the API key as a bearer token when one is set.
// Routes are extensions: the OpenAI API and the app's UI API each register one.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import type { Duplex } from 'node:stream';
import * as path from 'node:path';
import { decodePath, HttpError, sendError, sendJson } from './http';
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
  /** Where problems worth an operator's attention go (failed model loads); default stderr. */
  log?: (msg: string) => void;
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
  /** The request carried the UI token (header x-clasp-token or the query's token). */
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
  readonly log: (msg: string) => void;
  private port = 0;
  private closing = false;
  private readonly sockets = new Set<Duplex>();

  constructor(readonly opts: ServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.uiToken = opts.uiToken ?? crypto.randomBytes(18).toString('base64url');
    this.log = opts.log ?? ((m) => process.stderr.write(`[clasp serve] ${m}\n`));
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

  /**
   * Hosts a request may name: this server's loopback names and the --host it was given; when it
   * binds all interfaces, also this machine's interface addresses (never whatever the client says).
   */
  allowedHosts(): Set<string> {
    const p = this.port;
    const names = ['127.0.0.1', 'localhost', '::1'];
    const h = this.opts.host;
    if (h && !this.bindsAll) names.push(h);
    if (this.bindsAll) {
      for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) names.push(a.address.replace(/%.*$/, ''));
    }
    return new Set(names.map((n) => (n.includes(':') ? `[${n.toLowerCase()}]:${p}` : `${n.toLowerCase()}:${p}`)));
  }

  private get bindsAll(): boolean {
    return this.opts.host === '0.0.0.0' || this.opts.host === '::';
  }

  private checkOrigin(req: http.IncomingMessage): void {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.allowedHosts().has(host)) {
      const shown = host.length > 100 ? `${host.slice(0, 100)}…` : host;
      throw new HttpError(403, `Host "${shown}" is not this server (DNS rebinding protection)`, 'invalid_request_error', 'bad_host');
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) {
      const shown = origin.length > 100 ? `${origin.slice(0, 100)}…` : origin;
      throw new HttpError(403, `cross-origin requests are not allowed (Origin ${shown})`, 'invalid_request_error', 'bad_origin');
    }
  }

  /** Any credential the request carries may match: a stale header does not hide a fresh ?token=. */
  private hasUiToken(req: http.IncomingMessage, url: URL): boolean {
    const header = req.headers['x-clasp-token'];
    const given = [...(Array.isArray(header) ? header : header !== undefined ? [header] : []), ...url.searchParams.getAll('token')];
    return given.some((t) => safeEqual(t, this.uiToken));
  }

  private hasApiKey(req: http.IncomingMessage): boolean {
    const key = this.opts.apiKey;
    if (!key) return true;
    const m = /^bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    return !!m && safeEqual(m[1]!.trim(), key);
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
    const root = realpath(path.resolve(this.opts.staticDir!));
    const rel = url.pathname === '/' ? '/index.html' : decodePath(url.pathname);
    if (rel.includes('\0') || rel.endsWith('/')) throw new HttpError(404, 'not found', 'invalid_request_error', 'not_found');
    // Checked after resolving symlinks: nothing outside the folder, whatever links it holds.
    const file = root === null ? null : realpath(path.resolve(root, '.' + rel));
    let st: fs.Stats | null = null;
    try {
      if (root !== null && file !== null && file.startsWith(root + path.sep)) st = fs.statSync(file);
    } catch {
      st = null;
    }
    if (!st || !st.isFile() || root === null || file === null) throw new HttpError(404, 'not found', 'invalid_request_error', 'not_found');
    // The page itself needs the token, whatever path names it.
    const isPage = file === path.join(root, 'index.html');
    if (isPage && !ctx.ui) {
      throw new HttpError(401, 'open the URL that `clasp serve` printed (it carries the UI token)', 'authentication_error', 'ui_token');
    }
    res.writeHead(200, {
      'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
      'content-length': st.size,
      'content-security-policy': CSP,
      'cache-control': isPage ? 'no-store' : 'max-age=3600',
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

function realpath(p: string): string | null {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
