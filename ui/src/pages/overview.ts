// Overview: what runs now, live, and what ran lately.

import { get } from "../api";
import { openStream } from "../connection";
import { badge, fill, h, setText } from "../dom";
import * as fmt from "../format";
import { isLive, type Session, type Tick } from "../types";
import type { Page } from "./page";
import { SESSION_COLUMNS, sessionCells } from "./session_cells";

export const overview: Page = (root) => {
  const running = h("tbody", { id: "running-rows" });
  const recent = h("tbody", { id: "recent-rows" });
  const runningEmpty = h("p", { class: "empty", id: "running-empty" }, "No session is running. ", h("a", { href: "#/new" }, "Start one"), ".");
  fill(
    root,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Overview"),
      h("a", { class: "btn btn-primary", href: "#/new" }, "+ New session"),
    ),
    h(
      "section",
      { "aria-labelledby": "running-title" },
      h("h2", { id: "running-title" }, "Running sessions"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table", id: "running-table" },
          h("thead", {}, h("tr", {}, ["Session", "Status", "Requests/s, last second", "p95, last second", "Error rate, last second", "Users", "Elapsed", "Remaining"].map((c) => h("th", { scope: "col" }, c)))),
          running,
        ),
      ),
      runningEmpty,
    ),
    h(
      "section",
      { "aria-labelledby": "recent-title" },
      h("h2", { id: "recent-title" }, "Recent sessions"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table" },
          h("thead", {}, h("tr", {}, SESSION_COLUMNS.map((c) => h("th", { scope: "col" }, c)))),
          recent,
        ),
      ),
      h("p", {}, h("a", { href: "#/history" }, "All sessions →")),
    ),
  );

  const cells = new Map<string, Record<string, HTMLElement>>();

  const load = async () => {
    const { sessions } = await get<{ sessions: Session[] }>("/api/sessions?limit=30");
    const live = sessions.filter((s) => isLive(s.status));
    cells.clear();
    fill(
      running,
      live.map((s) => {
        const c: Record<string, HTMLElement> = {};
        for (const k of ["status", "rps", "p95", "err", "users", "elapsed", "remaining"]) c[k] = h("td", { "data-k": k });
        cells.set(s.id, c);
        fill(c.status, badge(s.status));
        // The columns are the last second's, from the last tick and then the stream.
        const t = s.live?.last_tick;
        if (t) update(s.id, t);
        return h("tr", { "data-session": s.id }, h("th", { scope: "row" }, h("a", { href: `#/sessions/${s.id}` }, s.scenario), h("small", { class: "muted" }, ` ${s.id}`)), c.status, c.rps, c.p95, c.err, c.users, c.elapsed, c.remaining);
      }),
    );
    runningEmpty.hidden = live.length > 0;
    running.closest(".table-wrap")?.toggleAttribute("hidden", live.length === 0);
    fill(
      recent,
      sessions
        .filter((s) => !isLive(s.status))
        .slice(0, 10)
        .map((s) => h("tr", {}, sessionCells(s))),
    );
    if (!recent.children.length) fill(recent, h("tr", {}, h("td", { colspan: 7, class: "empty" }, "Nothing has run yet.")));
  };

  const update = (id: string, t: Tick) => {
    const c = cells.get(id);
    if (!c) return;
    setText(c.rps, fmt.rate(t.rps));
    setText(c.p95, fmt.ms(t.latency.p95));
    setText(c.err, fmt.percent(t.requests ? t.failures / t.requests : 0));
    setText(c.users, `${t.active_users} / ${t.target_users}`);
    setText(c.elapsed, fmt.duration(t.elapsed_s));
    setText(c.remaining, fmt.duration(t.remaining_s));
  };

  let reloading: ReturnType<typeof setTimeout> | null = null;
  const reloadSoon = () => {
    if (reloading) return;
    reloading = setTimeout(() => {
      reloading = null;
      void load().catch(() => {});
    }, 300);
  };

  void load().catch((e) => fill(running, h("tr", {}, h("td", { colspan: 8, class: "form-error" }, `Could not list sessions: ${e.message}`))));
  const stream = openStream("/api/events", (e) => {
    if (e.event === "tick") {
      const t = JSON.parse(e.data) as Tick;
      if (t.session_id && !cells.has(t.session_id)) reloadSoon();
      else if (t.session_id) update(t.session_id, t);
    } else if (e.event === "lifecycle") {
      reloadSoon();
    }
  });
  const refresh = () => reloadSoon();
  window.addEventListener("lt:refresh", refresh);
  return () => {
    stream.close();
    window.removeEventListener("lt:refresh", refresh);
    if (reloading) clearTimeout(reloading);
  };
};
