// The app:// protocol of the packaged app: app://studio/<path> serves a file of the built renderer
// with the CSP header, and nothing outside that folder (checked after resolving symlinks).
import * as fs from 'node:fs';
import * as path from 'node:path';

export const APP_SCHEME = 'app';
export const APP_HOST = 'studio';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

export const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.json': 'application/json', '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.map': 'application/json',
};

function notFound(): Response {
  return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** The handler for protocol.handle(APP_SCHEME, ...): a Request in, a Response out. */
export function createAppProtocolHandler(rendererDir: string, csp: string): (req: Request) => Promise<Response> {
  return async (req) => {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return notFound();
    }
    if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return notFound();
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    } catch {
      return new Response('bad path', { status: 400 }); // a malformed % escape
    }
    if (rel.includes('\0')) return notFound();
    try {
      // Both sides resolved: a symlink inside the folder must not lead out of it.
      const root = await fs.promises.realpath(rendererDir);
      const file = await fs.promises.realpath(path.resolve(root, '.' + rel));
      if (!isInside(root, file)) return notFound();
      const st = await fs.promises.stat(file);
      if (!st.isFile()) return notFound();
      const data = await fs.promises.readFile(file);
      return new Response(data, {
        headers: { 'content-type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream', 'content-security-policy': csp, 'x-content-type-options': 'nosniff' },
      });
    } catch {
      return notFound();
    }
  };
}
