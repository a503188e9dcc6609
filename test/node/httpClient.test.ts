// The browser's UI client sends the UI token itself (no cookie): as the x-clasp-token header on calls,
// and in the query of the event stream, which EventSource cannot give headers.
import { describe, expect, it } from 'vitest';
import { createHttpClient } from '../../src/renderer/lib/httpClient';

describe('the browser client and the UI token', () => {
  it('sends the token as a header on calls and in the query of the event stream, never with cookies', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const fetch = (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(JSON.stringify({ result: [] }), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof globalThis.fetch;
    const opened: string[] = [];
    class FakeEventSource {
      constructor(url: string) {
        opened.push(url);
      }
      addEventListener() {}
      close() {}
    }
    const api = createHttpClient({ fetch, EventSource: FakeEventSource as unknown as typeof EventSource, token: 'tok/en+1' });
    expect(await api.call('conversations:list', {})).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe('/api/ui/call');
    expect((calls[0]!.init.headers as Record<string, string>)['x-clasp-token']).toBe('tok/en+1');
    expect(calls[0]!.init.credentials).toBe('omit');
    const off = api.onReplyEvent(() => {});
    expect(opened).toEqual([`/api/ui/events?token=${encodeURIComponent('tok/en+1')}`]);
    off();
  });
});
