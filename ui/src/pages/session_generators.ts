// The generators of a session run by several (`load.generators`): each one's state and health
// as the coordinator last saw it, refreshed from the session every 2 s while it runs. Hidden for
// a session in one process.

import { get } from "../api";
import { fill, h } from "../dom";
import * as fmt from "../format";
import type { GeneratorHealth, Session } from "../types";

/** The section, and a stop for its refresh. */
export function generatorsSection(sessionId: string, initial: GeneratorHealth[], live: boolean): { element: HTMLElement; stop: () => void } {
  const body = h("tbody", {});
  const element = h(
    "section",
    { id: "generators", "aria-label": "Generators", hidden: initial.length === 0 },
    h("h2", {}, "Generators"),
    h("table", { class: "table" }, h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "State"), h("th", {}, "Second"), h("th", {}, "Requests (whole run)"), h("th", {}, "CPU (last second)"), h("th", {}, "Received (whole run)"), h("th", {}, "Last heard"))), body),
  );
  const show = (generators: GeneratorHealth[]) => {
    element.hidden = generators.length === 0;
    fill(
      body,
      ...generators.map((g) =>
        h(
          "tr",
          { class: g.state === "lost" ? "row-warn" : "" },
          h("td", {}, String(g.index)),
          h("td", {}, g.saturated ? `${g.state} (${g.saturated})` : g.state),
          h("td", {}, String(g.second)),
          h("td", {}, fmt.count(g.total_requests)),
          h("td", {}, g.cpu_percent == null ? "–" : `${g.cpu_percent.toFixed(0)}%`),
          h("td", { title: "bytes the coordinator received from it since it was welcomed" }, fmt.bytes(g.received_bytes)),
          h("td", {}, fmt.time(g.last_heard_ms ?? null)),
        ),
      ),
    );
  };
  show(initial);
  let timer: ReturnType<typeof setInterval> | null = null;
  if (live && initial.length > 0) {
    timer = setInterval(() => {
      void get<Session>(`/api/sessions/${sessionId}`)
        .then((s) => show(s.live?.generators ?? []))
        .catch(() => {});
    }, 2_000);
  }
  return { element, stop: () => (timer === null ? undefined : clearInterval(timer)) };
}
