// Whether the page's live streams are connected, shown in the header and as a banner while not.

import { authHeaders, reportUnauthorized } from "./api";
import { h, setText } from "./dom";
import { EventStream, type SseEvent, type StreamState } from "./sse";
import { time } from "./format";

const states = new Map<number, StreamState>();
let nextStream = 0;
let indicator: HTMLElement | null = null;
let banner: HTMLElement | null = null;

/** The header's indicator and the page banner; made once by the shell. */
export function connectionElements(): { indicator: HTMLElement; banner: HTMLElement } {
  indicator = h("span", { class: "conn conn-idle", id: "connection" }, "idle");
  banner = h("div", { class: "banner banner-down", id: "disconnected", role: "status", hidden: true });
  render();
  return { indicator, banner };
}

function render(): void {
  if (!indicator || !banner) return;
  const all = [...states.values()];
  const down = all.filter((s): s is Extract<StreamState, { kind: "down" }> => s.kind === "down");
  let text = "idle";
  let kind = "idle";
  if (down.length) {
    text = "disconnected";
    kind = "down";
  } else if (all.some((s) => s.kind === "connecting")) {
    text = "connecting…";
    kind = "connecting";
  } else if (all.length) {
    text = "live";
    kind = "live";
  }
  setText(indicator, text === "live" ? "● live" : text === "disconnected" ? "✕ disconnected" : text);
  indicator.className = `conn conn-${kind}`;
  indicator.title = text === "live" ? "Receiving live events" : text;
  if (down.length) {
    const first = down.reduce((a, b) => (a.since < b.since ? a : b));
    setText(
      banner,
      `Disconnected from the server since ${time(first.since)} (${first.error}); reconnecting by itself every few seconds — nothing is lost, missed events are replayed.`,
    );
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

/** Opens a stream whose state shows in the header; events go to `onEvent`. */
export function openStream(url: string, onEvent: (e: SseEvent) => void): { close(): void } {
  const key = nextStream++;
  const stream = new EventStream({
    url,
    headers: authHeaders,
    onEvent,
    onState: (s) => {
      states.set(key, s);
      render();
    },
    onRefused: (status, body) => {
      states.delete(key);
      render();
      if (status === 401) {
        let message = "the token was refused";
        try {
          message = JSON.parse(body).message ?? message;
        } catch {
          /* not JSON */
        }
        reportUnauthorized(message);
      }
    },
  });
  return {
    close() {
      stream.close();
      states.delete(key);
      render();
    },
  };
}
