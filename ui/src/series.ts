// Chart data kept in a bounded window, so a page left open on a long session uses the same
// memory after an hour as after a minute.

/** Columns for uPlot: x (seconds since the start) and one column per series, at most `capacity` points. */
export class SeriesWindow {
  readonly capacity: number;
  private readonly columns: number[][];

  constructor(series: number, capacity: number) {
    if (capacity < 1) throw new Error(`capacity must be at least 1, got ${capacity}`);
    this.capacity = capacity;
    this.columns = Array.from({ length: series + 1 }, () => []);
  }

  get length(): number {
    return this.columns[0].length;
  }

  /** The last x, or -Infinity when empty. */
  get lastX(): number {
    const xs = this.columns[0];
    return xs.length ? xs[xs.length - 1] : -Infinity;
  }

  /**
   * Adds a point. Points at or before the last x are ignored (a tick that arrives both from the
   * stored stats and the live stream counts once). Answers whether it was added.
   */
  push(x: number, values: number[]): boolean {
    if (values.length !== this.columns.length - 1) {
      throw new Error(`expected ${this.columns.length - 1} values, got ${values.length}`);
    }
    if (!(x > this.lastX)) return false;
    this.columns[0].push(x);
    values.forEach((v, i) => this.columns[i + 1].push(Number.isFinite(v) ? v : NaN));
    if (this.columns[0].length > this.capacity) {
      const extra = this.columns[0].length - this.capacity;
      for (const c of this.columns) c.splice(0, extra);
    }
    return true;
  }

  /** The columns as uPlot takes them (the arrays themselves; do not change them). */
  data(): number[][] {
    return this.columns;
  }
}

/** Each endpoint's share of the requests over the last `seconds` seconds. */
export class ShareWindow {
  private readonly seconds: number;
  private readonly history: Map<string, number>[] = [];

  constructor(seconds: number) {
    this.seconds = seconds;
  }

  push(counts: Map<string, number>): void {
    this.history.push(counts);
    if (this.history.length > this.seconds) this.history.shift();
  }

  /** The share of `name` in [0, 1]; 0 when there were no requests. */
  share(name: string): number {
    let mine = 0;
    let all = 0;
    for (const second of this.history) {
      for (const [n, c] of second) {
        all += c;
        if (n === name) mine += c;
      }
    }
    return all === 0 ? 0 : mine / all;
  }
}
