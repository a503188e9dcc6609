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
  /** Extra reply headers (e.g. retry-after). */
  headers: Record<string, string> = {};
}

/** An error to retry later: 429 or 409/503 with a Retry-After header (seconds). */
export function retryLater(e: HttpError, seconds: number): HttpError {
  e.headers['retry-after'] = String(seconds);
  return e;
}

/** Error messages stay short: they never echo a large input back. */
export const MAX_ERROR_MESSAGE = 1000;

export function clipMessage(m: string): string {
  return m.length > MAX_ERROR_MESSAGE ? `${m.slice(0, MAX_ERROR_MESSAGE)}… (${m.length - MAX_ERROR_MESSAGE} more characters)` : m;
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
  const headers: Record<string, string> = { ...err.headers, ...(err.closeConnection ? { connection: 'close' } : {}) };
  const param = err.param === null ? null : clipMessage(err.param);
  sendJson(res, err.status, { error: { message: clipMessage(err.message), type: err.type, param, code: err.code } }, headers);
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

/** Deeper JSON than this is refused (400): validators and error formatting recurse. */
export const MAX_JSON_DEPTH = 64;

export async function readJson(req: IncomingMessage, limit: number, timeoutMs?: number): Promise<unknown> {
  const buf = await readBody(req, limit, timeoutMs);
  if (buf.length === 0) throw new HttpError(400, 'the request body is empty; expected JSON');
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `the request body is not valid JSON: ${clipMessage((e as Error).message)}`);
  }
  if (jsonDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new HttpError(400, `the request body is nested more than ${MAX_JSON_DEPTH} levels deep`, 'invalid_request_error', 'too_deep');
  }
  return value;
}

/** The nesting depth of a parsed JSON value, counted without recursion; stops past `limit`. */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const depth = d + 1;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v as object)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth]);
    }
  }
  return deepest;
}

/** decodeURIComponent for a URL path: a malformed % escape is the client's error (400), not ours. */
export function decodePath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new HttpError(400, 'the URL path has a malformed % escape', 'invalid_request_error', 'bad_path');
  }
}
