// The cells every session list shows the same way (the overview's recent sessions, history).

import { badge, h } from "../dom";
import * as fmt from "../format";
import type { Session } from "../types";

/** Column titles of [`sessionCells`]. */
export const SESSION_COLUMNS = ["Session", "Status", "Started", "Duration", "Requests", "Error rate", "p95"];

/** The session's link and id, status, start, duration, requests, error rate and p95. */
export function sessionCells(s: Session): HTMLElement[] {
  return [
    h("th", { scope: "row" }, h("a", { href: `#/sessions/${s.id}` }, s.scenario), h("small", { class: "muted" }, ` ${s.id}`)),
    h("td", {}, badge(s.status)),
    h("td", {}, fmt.time(s.started_at_ms ?? s.created_at_ms)),
    h("td", {}, fmt.duration(s.totals.duration_s)),
    h("td", {}, fmt.count(s.totals.requests)),
    h("td", {}, fmt.percent(s.totals.error_rate)),
    h("td", {}, fmt.ms(s.totals.p95_ms)),
  ];
}
