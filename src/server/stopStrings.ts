// `stop` strings for the API: text is released to the client only once it cannot be the start of a
// stop string; when one appears, the text before it is released and generation ends.

export class StopMatcher {
  private pending = '';
  private hit = false;

  constructor(private readonly stops: readonly string[]) {}

  get stopped(): boolean {
    return this.hit;
  }

  /** Adds decoded text; returns the text that can be sent now. After a stop hit it returns "". */
  push(text: string): string {
    if (this.hit) return '';
    this.pending += text;
    if (this.stops.length === 0) return this.take(this.pending.length);
    let at = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    if (at >= 0) {
      this.hit = true;
      const out = this.pending.slice(0, at);
      this.pending = '';
      return out;
    }
    // Hold back the longest tail that is the start of some stop string.
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.pending.length); k > hold; k--) {
        if (this.pending.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    let cut = this.pending.length - hold;
    // never split a surrogate pair between two chunks
    if (cut > 0 && cut < this.pending.length && isHighSurrogate(this.pending.charCodeAt(cut - 1))) cut--;
    return this.take(cut);
  }

  /** The end of the generation: whatever was held back is text after all. */
  flush(): string {
    if (this.hit) return '';
    return this.take(this.pending.length);
  }

  private take(n: number): string {
    const out = this.pending.slice(0, n);
    this.pending = this.pending.slice(n);
    return out;
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
