// The renderer's client: the preload's {ok, result | error} answers become a typed `call` that
// throws ClaspApiError with code and status; the HTTP transport posts {channel, payload} and turns
// failures (HTTP errors, a missing UI token, an unreachable server) into the same errors.
import { describe, expect, it, vi } from 'vitest';
import type { IpcResult, PreloadApi } from '../../../src/shared/api';
import { ClaspApiError, errorText, fromPreload } from '../../../src/renderer/lib/client';
import { createHttpClient } from '../../../src/renderer/lib/httpClient';

function preload(answer: IpcResult): PreloadApi & { invoke: ReturnType<typeof vi.fn> } {
  const off = () => {};
  return { shell: 'electron', invoke: vi.fn(async () => answer), onReplyEvent: () => off, onModelEvent: () => off, onAppEvent: () => off };
}

function fakeFetch(status: number, body: unknown) {
  return vi.fn(async (_url: string | URL | Request, _init?: RequestInit) => new Response(typeof body === 'string' ? body : JSON.stringify(body), { status }));
}

describe('fromPreload', () => {
  it('resolves to the result of an {ok: true} answer, passing channel and payload through', async () => {
    const p = preload({ ok: true, result: { deleted: true } });
    const api = fromPreload(p);
    await expect(api.call('conversations:delete', { id: 'c1' })).resolves.toEqual({ deleted: true });
    expect(p.invoke).toHaveBeenCalledWith('conversations:delete', { id: 'c1' });
    expect(api.shell).toBe('electron');
  });

  it('throws a ClaspApiError that keeps code and status for an {ok: false} answer', async () => {
    const api = fromPreload(preload({ ok: false, error: { message: 'no conversation with id x', code: 'not_found', status: 404 } }));
    const e = (await api.call('messages:list', { conversationId: 'x' }).catch((x: unknown) => x)) as ClaspApiError;
    expect(e).toBeInstanceOf(ClaspApiError);
    expect([e.message, e.code, e.status]).toEqual(['no conversation with id x', 'not_found', 404]);
    expect(errorText(e)).toBe('no conversation with id x');
  });
});

describe('createHttpClient', () => {
  it('posts {channel, payload} to /api/ui/call and resolves to the result', async () => {
    const f = fakeFetch(200, { result: [{ id: 'c1' }] });
    const api = createHttpClient({ base: 'http://h', fetch: f as unknown as typeof fetch });
    await expect(api.call('conversations:list', {})).resolves.toEqual([{ id: 'c1' }]);
    const [url, init] = f.mock.calls[0]!;
    expect(url).toBe('http://h/api/ui/call');
    expect(init?.method).toBe('POST');
    expect(JSON.parse(String(init?.body))).toEqual({ channel: 'conversations:list', payload: {} });
  });

  it('turns an error body into a ClaspApiError with its code and the HTTP status', async () => {
    const api = createHttpClient({ fetch: fakeFetch(409, { error: { message: 'a reply is still being written', code: 'busy' } }) as unknown as typeof fetch });
    await expect(api.call('chat:regenerate', { conversationId: 'c1' })).rejects.toMatchObject({ code: 'busy', status: 409, message: 'a reply is still being written' });
  });

  it('says what to do when the page has no valid UI token, or the server is gone', async () => {
    const noToken = createHttpClient({ fetch: fakeFetch(401, 'not json') as unknown as typeof fetch });
    await expect(noToken.call('models:list', {})).rejects.toMatchObject({ code: 'ui_token', status: 401, message: expect.stringMatching(/open the URL that `clasp serve` printed/) });
    const gone = createHttpClient({ fetch: (async () => Promise.reject(new Error('ECONNREFUSED'))) as unknown as typeof fetch });
    await expect(gone.call('models:list', {})).rejects.toMatchObject({ code: 'network', status: 0, message: expect.stringMatching(/cannot reach the CLaSp server \(ECONNREFUSED\)/) });
  });
});
