// Two sessions side by side: every figure, the change, and whether it got better or worse
// (in words and arrows, not only in colour), per session and per endpoint, with their charts.

import { get } from "../api";
import { sessionCharts } from "../charts";
import { diff, diffEndpoints, diffFlows, figuresOf, FIGURES, type LoadShape, type Row, unlike } from "../compare";
import { badge, fill, h } from "../dom";
import * as fmt from "../format";
import type { SecondRow, Session } from "../types";
import type { Page } from "./page";

export const comparePage: Page = (root, params) => {
  const a = params.get("a") ?? "";
  const b = params.get("b") ?? "";
  const cleanups: (() => void)[] = [];
  let closed = false;
  fill(root, h("h1", {}, "Compare"), h("p", { class: "muted" }, "Loading…"));
  void Promise.all([get<Session>(`/api/sessions/${encodeURIComponent(a)}`), get<Session>(`/api/sessions/${encodeURIComponent(b)}`)])
    .then(async ([sa, sb]) => {
      if (closed) return;
      const fa = sa.summary ? figuresOf(sa.summary) : totalsFigures(sa);
      const fb = sb.summary ? figuresOf(sb.summary) : totalsFigures(sb);
      const head = (s: Session, tag: string) =>
        h("th", { scope: "col" }, `${tag}: `, h("a", { href: `#/sessions/${s.id}` }, s.scenario), h("div", { class: "muted small" }, s.id, " ", badge(s.status)), h("div", { class: "muted small" }, fmt.time(s.started_at_ms ?? s.created_at_ms)));
      const table = (rows: Row[], id?: string) =>
        h(
          "table",
          { class: "table compare", id },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Figure"), head(sa, "A"), head(sb, "B"), h("th", { scope: "col" }, "B − A"), h("th", { scope: "col" }, "Verdict"))),
          h("tbody", {}, rows.map((r) => rowOf(r))),
        );
      const charts = [sessionCharts(86_400), sessionCharts(86_400)];
      cleanups.push(() => charts.forEach((c) => c.destroy()));
      const warnings = unlike(shape(sa), shape(sb));
      const flowDiffs = diffFlows(sa.summary ?? null, sb.summary ?? null);
      fill(
        root,
        h("div", { class: "page-head" }, h("h1", {}, "Compare")),
        warnings.length ? h("div", { class: "banner banner-end banner-warn", id: "compare-warnings", role: "note" }, h("strong", {}, "Not like for like: "), warnings.join(" ")) : null,
        h("p", { class: "muted" }, `Changes under ${Math.round(100 * 0.05)} % count as the same; “better” and “worse” follow the figure (more requests/s is better, more latency worse). Counts and durations depend on how long each run was, so they get no verdict.`),
        h("div", { class: "table-wrap" }, table(diff(fa, fb), "compare-table")),
        flowDiffs.length ? h("h2", {}, "Flows (journeys), whole run") : null,
        flowDiffs.map((f) => h("div", { class: "table-wrap", "data-flow": f.name }, h("h3", {}, f.name), table(f.rows))),
        h("h2", {}, "Endpoints"),
        diffEndpoints(sa.summary ?? null, sb.summary ?? null).map((e) => h("div", { class: "table-wrap" }, h("h3", {}, e.name), table(e.rows))),
        h(
          "div",
          { class: "grid-2" },
          [sa, sb].map((s, i) => h("section", {}, h("h2", {}, `${i ? "B" : "A"}: ${s.scenario}`), charts[i].rps.element, charts[i].latency.element)),
        ),
      );
      const [ra, rb] = await Promise.all([sa, sb].map((s) => get<{ seconds: SecondRow[] }>(`/api/sessions/${s.id}/stats?limit=86400`)));
      [ra, rb].forEach(({ seconds }, i) => {
        for (const s of seconds) charts[i].push({ second: s.second, rps: s.rps, failures: s.failures, p50: s.latency.p50, p95: s.latency.p95, p99: s.latency.p99, active: s.active_users, target: s.target_users });
      });
    })
    .catch((e) => fill(root, h("h1", {}, "Compare"), h("p", { class: "form-error" }, `Could not compare ${a} and ${b}: ${e.message}`)));
  return () => {
    closed = true;
    cleanups.forEach((c) => c());
  };
};

function shape(s: Session): LoadShape {
  const load = s.config?.load;
  return { scenario: s.scenario, users: load?.users, max_users: load?.max_users, arrival_rate: load?.arrival_rate, duration: load?.duration };
}

function totalsFigures(s: Session): Record<string, number> {
  return {
    requests: s.totals.requests,
    failures: s.totals.failures,
    error_rate: s.totals.error_rate,
    rps: s.totals.rps ?? 0,
    p95: s.totals.p95_ms ?? 0,
  };
}

function show(key: string, v: number | null): string {
  const unit = FIGURES.find((f) => f.key === key)?.unit;
  switch (unit) {
    case "ms":
      return fmt.ms(v);
    case "share":
      return fmt.percent(v);
    case "rate":
      return fmt.rate(v);
    case "s":
      return fmt.duration(v);
    default:
      return fmt.count(v);
  }
}

function rowOf(r: Row): HTMLElement {
  const change =
    r.delta == null
      ? "–"
      : `${fmt.signed(show(r.key, Math.abs(r.delta)), r.delta)}${r.relative != null && r.key !== "error_rate" ? ` (${fmt.signed(fmt.percent(Math.abs(r.relative)), r.relative)})` : ""}`;
  const verdict = { better: "▲ better", worse: "▼ worse", same: "= same", missing: `– only in ${r.a == null ? "B" : "A"}`, unjudged: "not judged" }[r.verdict];
  return h(
    "tr",
    { class: `verdict-${r.verdict}`, "data-figure": r.key },
    h("th", { scope: "row" }, r.label),
    h("td", {}, show(r.key, r.a)),
    h("td", {}, show(r.key, r.b)),
    h("td", {}, change),
    h("td", { class: "verdict" }, verdict),
  );
}
