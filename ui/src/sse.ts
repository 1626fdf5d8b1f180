// Server-Sent Events over fetch: unlike EventSource it can send the API token as a header
// (never in the URL), and it resumes with Last-Event-ID after any break, a server restart
// included, saying so while it is disconnected.

export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}

/** The text/event-stream format, fed in chunks as they arrive. */
export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private event = "";
  private id: string | null = null;
  /** The last `retry:` the server asked for, in ms. */
  retry: number | null = null;
  /** The id of the last event dispatched (kept across events, as the spec says). */
  lastId: string | null = null;

  /** Feeds a chunk; answers the events it completed. */
  feed(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = this.nextLineEnd(start);
      if (nl < 0) break;
      const line = this.buffer.slice(start, nl);
      start = nl + (this.buffer[nl] === "\r" && this.buffer[nl + 1] === "\n" ? 2 : 1);
      const event = this.line(line);
      if (event) out.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private nextLineEnd(from: number): number {
    for (let i = from; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c === "\n") return i;
      // A lone \r ends a line too, but wait for the next chunk to tell \r from \r\n.
      if (c === "\r") return i + 1 < this.buffer.length ? i : -1;
    }
    return -1;
  }

  private line(line: string): SseEvent | null {
    if (line === "") {
      if (this.data.length === 0) {
        this.event = "";
        return null;
      }
      const event = { id: this.id, event: this.event || "message", data: this.data.join("\n") };
      this.lastId = this.id;
      this.data = [];
      this.event = "";
      return event;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        if (!value.includes("\0")) this.id = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
    }
    return null;
  }
}

export type StreamState =
  | { kind: "connecting" }
  | { kind: "open" }
  | { kind: "down"; since: number; error: string; retryInMs: number };

export interface StreamOptions {
  url: string;
  headers: () => Record<string, string>;
  onEvent: (e: SseEvent) => void;
  onState: (s: StreamState) => void;
  /** A 4xx answer (a wrong token, a session that does not exist): stop trying. */
  onRefused?: (status: number, body: string) => void;
}

/** Waits before reconnecting: the server's retry hint, growing to 10 s while it stays down. */
export function reconnectDelay(attempt: number, hintMs: number | null): number {
  const base = hintMs ?? 2000;
  return Math.min(base * 2 ** Math.max(0, attempt - 1), Math.max(base, 10_000));
}

/** An event stream that keeps itself connected until closed. */
export class EventStream {
  private readonly options: StreamOptions;
  private controller: AbortController | null = null;
  private closed = false;
  private lastId: string | null = null;
  private hint: number | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private downSince: number | null = null;

  constructor(options: StreamOptions) {
    this.options = options;
    void this.run(0);
  }

  close(): void {
    this.closed = true;
    this.controller?.abort();
    if (this.timer) clearTimeout(this.timer);
  }

  private async run(attempt: number): Promise<void> {
    if (this.closed) return;
    this.options.onState({ kind: "connecting" });
    this.controller = new AbortController();
    let error = "the stream ended";
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream", ...this.options.headers() };
      if (this.lastId) headers["Last-Event-ID"] = this.lastId;
      const response = await fetch(this.options.url, { headers, signal: this.controller.signal, cache: "no-store" });
      if (response.status >= 400 && response.status < 500 && response.status !== 429) {
        this.options.onRefused?.(response.status, await response.text());
        return;
      }
      if (!response.ok || !response.body) throw new Error(`the server answered ${response.status}`);
      attempt = 0;
      this.downSince = null;
      this.options.onState({ kind: "open" });
      const parser = new SseParser();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const event of parser.feed(value)) {
          if (event.id) this.lastId = event.id;
          this.options.onEvent(event);
        }
        if (parser.retry != null) this.hint = parser.retry;
      }
    } catch (e) {
      if (this.closed) return;
      error = e instanceof Error ? e.message : String(e);
    }
    if (this.closed) return;
    this.downSince ??= Date.now();
    const delay = reconnectDelay(attempt + 1, this.hint);
    this.options.onState({ kind: "down", since: this.downSince, error, retryInMs: delay });
    this.timer = setTimeout(() => void this.run(attempt + 1), delay);
  }
}
