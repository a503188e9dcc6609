// Small HTTP helpers shared by the server's routes: bounded body reading, JSON replies, and errors
// in OpenAI's wire format ({"error": {"message", "type", "param", "code"}}).
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  /** Close the connection after the reply (the request body was left unread). */
  closeConnection = false;
}

function closing(e: HttpError): HttpError {
  e.closeConnection = true;
  return e;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, e: unknown): void {
  const err = e instanceof HttpError ? e : new HttpError(500, e instanceof Error ? e.message : String(e));
  const headers: Record<string, string> = err.closeConnection ? { connection: 'close' } : {};
  sendJson(res, err.status, { error: { message: err.message, type: err.type, param: err.param, code: err.code } }, headers);
}

/** Reads a request body up to `limit` bytes; a slow or oversized body is refused. */
export function readBody(req: IncomingMessage, limit: number, timeoutMs = 30_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError(413, `request body of ${declared} bytes is larger than the limit of ${limit}`, 'invalid_request_error', 'body_too_large'));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      // The 408 reply goes out with `connection: close` (sendError), which then closes the socket.
      req.pause();
      reject(closing(new HttpError(408, `request body not received within ${timeoutMs / 1000} s`, 'invalid_request_error', 'timeout')));
    }, timeoutMs);
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        clearTimeout(timer);
        req.pause();
        req.removeAllListeners('data');
        reject(closing(new HttpError(413, `request body is larger than the limit of ${limit} bytes`, 'invalid_request_error', 'body_too_large')));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export async function readJson(req: IncomingMessage, limit: number, timeoutMs?: number): Promise<unknown> {
  const buf = await readBody(req, limit, timeoutMs);
  if (buf.length === 0) throw new HttpError(400, 'the request body is empty; expected JSON');
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `the request body is not valid JSON: ${(e as Error).message}`);
  }
}
