// The app's three event streams (reply, model, app events; src/shared/api.ts). A listener that
// throws is logged and does not stop the others, nor the reply that emitted the event.
import { EventEmitter } from 'node:events';
import type { AppEvent, ModelEvent, ReplyEvent } from '../shared/api';

interface EventsByName {
  reply: ReplyEvent;
  model: ModelEvent;
  app: AppEvent;
}

export class AppEvents {
  private readonly emitter = new EventEmitter();

  constructor(private readonly log: (msg: string) => void) {
    this.emitter.setMaxListeners(0);
  }

  /** Calls `cb` with each event of that stream; returns the function that stops it. */
  on<K extends keyof EventsByName>(name: K, cb: (e: EventsByName[K]) => void): () => void {
    const safe = (e: EventsByName[K]) => {
      try {
        cb(e);
      } catch (err) {
        this.log(`an event listener threw: ${(err as Error).message}`);
      }
    };
    this.emitter.on(name, safe);
    return () => this.emitter.off(name, safe);
  }

  emit<K extends keyof EventsByName>(name: K, e: EventsByName[K]): void {
    this.emitter.emit(name, e);
  }

  clear(): void {
    this.emitter.removeAllListeners();
  }
}
