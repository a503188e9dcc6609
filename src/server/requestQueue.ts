// The API's request queue: one request runs on the engine at a time, the others wait in arrival
// order (FIFO, so every client is served in turn). A waiting request whose client goes away leaves
// the queue at once; a full queue refuses new requests (429).
import { HttpError, retryLater } from './http';

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export class RequestQueue {
  private readonly waiting: Waiter[] = [];
  private running = 0;
  private closed = false;

  /** `maxWaiting`: how many requests may wait behind the running one. */
  constructor(private readonly maxWaiting: number) {}

  get stats(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /**
   * Resolves with a release function when it is this request's turn. Rejects with 429 when the queue
   * is full, 503 when the server is shutting down, and with the signal's reason when it aborts first.
   */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (this.closed) return Promise.reject(shuttingDown());
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.running === 0 && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxWaiting) {
      const busy = new HttpError(429, `the server is busy: ${this.waiting.length} requests are already waiting (limit ${this.maxWaiting}); retry later`, 'rate_limit_error', 'queue_full');
      return Promise.reject(retryLater(busy, 1));
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
      this.waiting.push(w);
    });
  }

  /** Refuses everything that waits (503) and anything new; the running request carries on. */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) {
      w.signal.removeEventListener('abort', w.onAbort);
      w.reject(shuttingDown());
    }
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.running--;
      const next = this.waiting.shift();
      if (next) {
        next.signal.removeEventListener('abort', next.onAbort);
        this.running++;
        next.resolve(this.releaser());
      }
    };
  }
}

function shuttingDown(): HttpError {
  return new HttpError(503, 'the server is shutting down', 'server_error', 'shutting_down');
}
