// One session, live or past: KPI tiles, charts, the endpoint table with live weights, users and
// think time controls, protection state, the error log, stop, and the reports once it ended.

import { ApiError, call, get } from "../api";
import { type ChartPoint, sessionCharts, WINDOW_SECONDS } from "../charts";
import { openStream } from "../connection";
import { badge, fill, field, h, setText, toast } from "../dom";
import { fromReport, fromSeconds, fromTick, stepRows } from "../flows";
import * as fmt from "../format";
import { ShareWindow } from "../series";
import { emergencyStop } from "../shell";
import {
  type Breaker,
  type ChangeEvent,
  type EndpointTick,
  type ErrorGroup,
  type ErrorSample,
  FAILURE_CLASSES,
  type FailureCounts,
  isLive,
  type Latency,
  type LifecycleEvent,
  type Report,
  type SecondRow,
  type Session,
  type Tick,
} from "../types";
import { accuracyBanner } from "./accuracy_banner";
import type { Page } from "./page";
import { flowsSection } from "./session_flows";
import { generatorsSection } from "./session_generators";
import { traceId, traceUrlTemplate } from "./trace_id";
import { type WeightInput, weightInput } from "./weight_input";

/** A session's rate, latency and counts over some span (the whole run, or the last second). */
interface Figures {
  rps: number;
  latency: { p50: number | null; p95: number | null; p99: number | null } | null;
  requests: number;
  failures: number;
}

/** Live error lines kept on the page. */
const ERROR_LOG_LINES = 100;

interface EndpointRow {
  name: string;
  requests: number;
  failures: FailureCounts;
  shortCircuited: number;
  cells: Record<string, HTMLElement>;
  /** `null` for a flow's step: the flow's weight chooses it. */
  weight: WeightInput | null;
}

export const sessionPage: Page = (root, _params, path) => {
  const id = path[1] ?? "";
  let closed = false;
  const cleanups: (() => void)[] = [];
  fill(root, h("p", { class: "muted" }, `Loading session ${id}…`));

  void Promise.all([get<Session>(`/api/sessions/${encodeURIComponent(id)}`), traceUrlTemplate()])
    .then(([s, traceUrl]) => {
      if (!closed) cleanups.push(render(root, s, traceUrl));
    })
    .catch((e) => fill(root, h("h1", {}, "Session"), h("p", { class: "form-error" }, e instanceof ApiError && e.status === 404 ? `There is no session ${id}.` : `Could not load session ${id}: ${e.message}`)));
  return () => {
    closed = true;
    cleanups.forEach((c) => c());
  };
};

function render(root: HTMLElement, session: Session, traceUrl: string | null): () => void {
  const traceButton = (id: string) => traceId(id, traceUrl);
  const live = isLive(session.status);
  const generators = generatorsSection(session.id, session.live?.generators ?? [], live);
  const charts = sessionCharts(live ? WINDOW_SECONDS : 86_400);
  const kpi: Record<string, HTMLElement> = {};
  // Tiles show whole-run figures; while the session runs, a labelled line under the rate, the
  // percentiles and the error rate shows the last second's.
  const tile = (key: string, label: string) => {
    kpi[key] = h("div", { class: "kpi-value", id: `kpi-${key}` }, "–");
    kpi[`${key}-recent`] = h("div", { class: "kpi-sub muted small", id: `kpi-${key}-recent` });
    return h("div", { class: "kpi" }, h("div", { class: "kpi-label" }, label), kpi[key], kpi[`${key}-recent`]);
  };
  const status = h("span", { id: "session-status", "data-status": session.status }, badge(session.status));
  const showStatus = (s: string) => {
    status.dataset.status = s;
    fill(status, badge(s));
  };
  const lastChange = h("p", { class: "muted", id: "last-change", "aria-live": "polite" });
  const endBanner = h("div", { class: "banner banner-end", id: "end-reason", role: "status", hidden: true });
  const accuracy = accuracyBanner();
  const stopButton = h("button", { type: "button", class: "btn btn-warning", id: "stop" }, "■ Stop");
  const reports = h("div", { class: "reports", id: "reports" });
  const controls = h("section", { class: "card", id: "controls", "aria-labelledby": "controls-title" });
  const protection = h("dl", { class: "protection", id: "protection" });
  const endpointRows = h("tbody", { id: "endpoint-rows" });
  const errorGroups = h("tbody", { id: "error-groups" });
  const errorLog = h("ol", { class: "error-log", id: "error-log", "aria-live": "off" });
  const errorsNote = h("p", { class: "muted small", id: "errors-note" });
  const endpoints = new Map<string, EndpointRow>();
  const shares = new ShareWindow(10);
  const scenarioEndpoints = session.config?.endpoints ?? [];
  const steps = stepRows(session.config);
  const method = new Map([...scenarioEndpoints.map((e): [string, string] => [e.name, `${e.method} ${e.path}`]), ...[...steps].map(([name, s]): [string, string] => [name, s.request])]);
  const flows = flowsSection(session, live);

  fill(
    root,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, session.scenario, " ", h("small", { class: "muted" }, session.id)),
      status,
      h("div", { class: "head-actions" }, live ? stopButton : null, reports),
    ),
    h("p", { class: "muted" }, `Target ${session.target} · started by ${session.created_by} at ${fmt.time(session.started_at_ms ?? session.created_at_ms)} · source ${session.source}`),
    endBanner,
    session.config?.tls?.insecure_skip_verify
      ? h(
          "div",
          { class: "banner banner-warn", id: "insecure-tls", role: "alert" },
          "tls.insecure_skip_verify is on: the target's certificate is not checked, so anyone on the path can read and change this traffic.",
        )
      : null,
    accuracy.element,
    generators.element,
    h(
      "section",
      { class: "kpis", "aria-label": "Key figures" },
      tile("rps", "Requests/s, whole run"),
      tile("p50", "p50, whole run"),
      tile("p95", "p95, whole run"),
      tile("p99", "p99, whole run"),
      tile("error-rate", "Error rate, whole run"),
      tile("users", "Users active / target"),
      tile("elapsed", "Elapsed"),
      tile("remaining", "Remaining"),
      tile("requests", "Requests"),
    ),
    live ? controls : null,
    h("section", { class: "charts", "aria-label": "Charts" }, charts.rps.element, charts.latency.element, charts.users.element),
    h(
      "section",
      { "aria-labelledby": "endpoints-title" },
      h("h2", { id: "endpoints-title" }, steps.size ? "Endpoints and flow steps" : "Endpoints"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table", id: "endpoint-table" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Endpoint", "Requests", "Failures", "Short-circuited", "p50", "p95", "p99", live ? "Share (last 10 s)" : "Share", "Weight", "Breaker"].map((c) => h("th", { scope: "col" }, c)),
            ),
          ),
          endpointRows,
        ),
      ),
    ),
    flows.element,
    session.summary ? verdicts(session.summary.thresholds) : null,
    h("section", { "aria-labelledby": "protection-title" }, h("h2", { id: "protection-title" }, "Protection"), protection),
    h(
      "section",
      { "aria-labelledby": "errors-title" },
      h("h2", { id: "errors-title" }, "Errors"),
      errorsNote,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table", id: "error-table" },
          h("thead", {}, h("tr", {}, ["Endpoint", "Class", "Status", "Message", "Count", "Last", "Trace ids"].map((c) => h("th", { scope: "col" }, c)))),
          errorGroups,
        ),
      ),
      live ? h("h3", {}, "Live error log") : null,
      live ? errorLog : null,
    ),
  );

  // The endpoint table, from the scenario's endpoints (and any a tick names).
  const row = (name: string): EndpointRow => {
    let r = endpoints.get(name);
    if (r) return r;
    const cells: Record<string, HTMLElement> = {};
    for (const k of ["requests", "failures", "short", "p50", "p95", "p99", "share", "breaker"]) cells[k] = h("td", { "data-k": k });
    const step = steps.get(name);
    const weight = step ? null : weightInput(session.id, name, live);
    const tr = h(
      "tr",
      { "data-endpoint": name },
      h("th", { scope: "row" }, name, h("div", { class: "muted small" }, method.get(name) ?? "")),
      cells.requests,
      cells.failures,
      cells.short,
      cells.p50,
      cells.p95,
      cells.p99,
      cells.share,
      h("td", {}, weight ? weight.element : h("span", { class: "muted small", "data-flow-of": step?.flow ?? "" }, `step of ${step?.flow ?? "a flow"}`)),
      cells.breaker,
    );
    endpointRows.appendChild(tr);
    r = { name, requests: 0, failures: zeroFailures(), shortCircuited: 0, cells, weight };
    endpoints.set(name, r);
    return r;
  };
  const weights = session.live?.config.weights ?? {};
  for (const e of scenarioEndpoints) {
    const w = row(e.name).weight;
    if (w) w.input.value = String(weights[e.name] ?? e.weight);
  }
  for (const name of steps.keys()) row(name);

  const showLatency = (r: EndpointRow, l: Latency | null) => {
    setText(r.cells.p50, fmt.ms(l?.p50));
    setText(r.cells.p95, fmt.ms(l?.p95));
    setText(r.cells.p99, fmt.ms(l?.p99));
  };
  const showCounts = (r: EndpointRow) => {
    setText(r.cells.requests, fmt.count(r.requests));
    setText(r.cells.failures, failureText(r.failures));
    setText(r.cells.short, fmt.count(r.shortCircuited));
  };
  const showBreaker = (r: EndpointRow, b: Breaker) => {
    if (r.cells.breaker.dataset.state === b) return;
    r.cells.breaker.dataset.state = b;
    fill(r.cells.breaker, badge(b === "closed" ? "closed" : b === "open" ? "open" : "half_open", `breaker-${b}`));
  };

  // KPIs and the rest from one second of figures.
  const showSecond = (t: {
    whole: Figures;
    recent: Figures | null;
    active_users: number;
    target_users: number;
    users_in_backoff: number;
    parked_users: number;
    window_error_rate: number | null;
    errors_last_minute: number;
    elapsed_s?: number;
    remaining_s?: number;
    total_requests?: number;
  }) => {
    const { whole, recent } = t;
    const errorRate = (f: Figures) => fmt.percent(f.requests ? f.failures / f.requests : 0);
    setText(kpi.rps, fmt.rate(whole.rps));
    setText(kpi.p50, fmt.ms(whole.latency?.p50));
    setText(kpi.p95, fmt.ms(whole.latency?.p95));
    setText(kpi.p99, fmt.ms(whole.latency?.p99));
    setText(kpi["error-rate"], errorRate(whole));
    setText(kpi["rps-recent"], recent ? `last second: ${fmt.rate(recent.rps)}` : "");
    setText(kpi["p50-recent"], recent ? `last second: ${fmt.ms(recent.latency?.p50)}` : "");
    setText(kpi["p95-recent"], recent ? `last second: ${fmt.ms(recent.latency?.p95)}` : "");
    setText(kpi["p99-recent"], recent ? `last second: ${fmt.ms(recent.latency?.p99)}` : "");
    setText(kpi["error-rate-recent"], recent ? `last second: ${errorRate(recent)}` : "");
    setText(kpi.users, `${t.active_users} / ${t.target_users}`);
    if (t.elapsed_s != null) setText(kpi.elapsed, fmt.duration(t.elapsed_s));
    if (t.remaining_s != null) setText(kpi.remaining, fmt.duration(t.remaining_s));
    if (t.total_requests != null) setText(kpi.requests, fmt.count(t.total_requests));
    fill(
      protection,
      h("dt", {}, "Users in backoff"),
      h("dd", { id: "backoff" }, fmt.count(t.users_in_backoff)),
      h("dt", {}, "Users parked by load reduction"),
      h("dd", { id: "parked" }, t.parked_users ? `${t.parked_users} (window error rate ${fmt.percent(t.window_error_rate)})` : "none"),
      h("dt", {}, "Failures in the last minute"),
      h("dd", { id: "errors-minute" }, fmt.count(t.errors_last_minute)),
      h("dt", {}, "Breakers open"),
      h("dd", { id: "breakers-open" }, [...endpoints.values()].filter((r) => r.cells.breaker.dataset.state !== "closed" && r.cells.breaker.dataset.state).map((r) => r.name).join(", ") || "none"),
    );
  };

  const point = (second: number, rps: number, failures: number, l: Latency, active: number, target: number): ChartPoint => ({
    second,
    rps,
    failures,
    p50: l.p50,
    p95: l.p95,
    p99: l.p99,
    active,
    target,
  });

  const cleanups: (() => void)[] = [() => charts.destroy(), generators.stop];

  // Totals per endpoint are the engine's, carried by every tick: shown as they come, never re-added.
  const showTotals = (e: EndpointTick) => {
    const r = row(e.name);
    r.requests = e.totals.requests;
    r.failures = { ...e.totals.failures };
    r.shortCircuited = e.totals.short_circuited;
    showCounts(r);
    return r;
  };
  for (const e of session.live?.last_tick?.endpoints ?? []) showTotals(e);
  const lastTick = session.live?.last_tick;
  for (const f of lastTick?.flows ?? []) flows.show(fromTick(f, lastTick?.elapsed_s ?? null));
  if (session.live?.last_tick) accuracy.showTick(session.live.last_tick);

  const onTick = (t: Tick) => {
    if (status.dataset.status === "starting") showStatus("running");
    accuracy.showTick(t);
    charts.push(point(t.second, t.rps, t.failures, t.latency, t.active_users, t.target_users));
    const counts = new Map<string, number>();
    for (const e of t.endpoints) {
      const r = showTotals(e);
      counts.set(e.name, e.requests);
      showLatency(r, e.requests ? e.latency : null);
      showBreaker(r, e.breaker);
      r.weight?.show(e.weight);
    }
    for (const f of t.flows ?? []) flows.show(fromTick(f, t.elapsed_s));
    shares.push(counts);
    for (const r of endpoints.values()) setText(r.cells.share, fmt.percent(shares.share(r.name)));
    showSecond({
      ...t,
      whole: { rps: t.total_requests / Math.max(t.elapsed_s, 1e-3), latency: t.total_latency, requests: t.total_requests, failures: t.total_failures },
      recent: { rps: t.rps, latency: t.latency, requests: t.requests, failures: t.failures },
      parked_users: t.load_reduction?.parked_users ?? 0,
      window_error_rate: t.load_reduction?.window_error_rate ?? null,
    });
  };

  const loadErrors = async () => {
    const { errors, counts } = await get<{ errors: ErrorGroup[]; counts: "exact" | "sampled" }>(`/api/sessions/${session.id}/errors`);
    errorsNote.textContent =
      counts === "exact"
        ? "Counts are the report's exact figures."
        : "Counts come from sampled error events (at most 20 a second) until the session's report is written; the failure totals above are exact.";
    fill(
      errorGroups,
      errors.length
        ? errors.map((g) =>
            h(
              "tr",
              {},
              h("td", {}, g.endpoint),
              h("td", {}, g.class ?? "slow"),
              h("td", {}, g.status ?? "–"),
              h("td", { class: "message" }, g.message),
              h("td", {}, fmt.count(g.count)),
              h("td", {}, fmt.time(g.last_at_ms)),
              h("td", {}, g.trace_ids.map((tid) => traceButton(tid))),
            ),
          )
        : h("tr", {}, h("td", { colspan: 7, class: "empty" }, "No errors.")),
    );
  };

  const showEnd = (statusText: string, reason: string | null) => {
    showStatus(statusText);
    endBanner.hidden = false;
    fill(endBanner, h("strong", {}, `Session ${statusText}`), reason ? `: ${reason}` : ".");
    endBanner.className = `banner banner-end banner-${statusText}`;
    stopButton.remove();
    controls.remove();
    for (const r of endpoints.values()) if (r.weight) r.weight.input.disabled = true;
    flows.end();
    fill(
      reports,
      h("span", { class: "muted" }, "Reports: "),
      h("a", { href: `/api/sessions/${session.id}/report`, target: "_blank", rel: "noopener", class: "btn btn-small btn-light" }, "HTML"),
      h("a", { href: `/api/sessions/${session.id}/report.json`, download: `${session.id}-report.json`, class: "btn btn-small btn-light" }, "JSON"),
      h("a", { href: `/api/sessions/${session.id}/junit.xml`, download: `${session.id}-junit.xml`, class: "btn btn-small btn-light" }, "JUnit"),
    );
  };

  if (live) {
    renderControls(controls, session, lastChange);
    stopButton.addEventListener("click", async () => {
      stopButton.setAttribute("disabled", "");
      try {
        await call("POST", `/api/sessions/${session.id}/stop`);
        toast("Stopping: in-flight requests finish, then the reports are written.");
        showStatus("stopping");
      } catch (e) {
        stopButton.removeAttribute("disabled");
        toast(`Not stopped: ${e instanceof Error ? e.message : e}`, "error");
      }
    });
    // Stored seconds first (the chart's past), then the last tick and the live stream; a second
    // seen twice counts once. (Charting the last tick first would hide every second before it.)
    const after = Math.max(0, (session.totals.seconds ?? 0) - WINDOW_SECONDS);
    const buffered: Tick[] = session.live?.last_tick ? [session.live.last_tick] : [];
    let backfilled = false;
    const stream = openStream(`/api/sessions/${session.id}/events`, (e) => {
      if (e.event === "tick") {
        const t = JSON.parse(e.data) as Tick;
        if (backfilled) onTick(t);
        else buffered.push(t);
      } else if (e.event === "error") {
        const s = JSON.parse(e.data) as ErrorSample;
        const li = h(
          "li",
          {},
          h("time", {}, fmt.time(s.at_ms)),
          ` ${s.endpoint} · ${s.class ?? "slow"}${s.status ? ` ${s.status}` : ""} · ${fmt.ms(s.latency_ms)} · ${s.message} `,
          s.trace_id ? traceButton(s.trace_id) : null,
        );
        errorLog.prepend(li);
        while (errorLog.children.length > ERROR_LOG_LINES) errorLog.lastElementChild?.remove();
      } else if (e.event === "lifecycle") {
        const l = JSON.parse(e.data) as LifecycleEvent;
        if (isLive(l.status)) showStatus(l.status);
        else {
          showEnd(l.status, l.reason ?? null);
          stream.close();
          void loadErrors().catch(() => {});
        }
      } else if (e.event === "change") {
        const c = JSON.parse(e.data) as ChangeEvent;
        lastChange.textContent = `Last change: ${c.who} set ${c.field} to ${fmt.value(c.new)} at ${fmt.time(c.at_ms)}.`;
      }
    });
    cleanups.push(() => stream.close());
    const query = after > 0 ? `after=${after}&limit=${WINDOW_SECONDS}` : `limit=${WINDOW_SECONDS}`;
    void get<{ seconds: SecondRow[] }>(`/api/sessions/${session.id}/stats?${query}`)
      .then(({ seconds }) => {
        for (const s of seconds) charts.push(point(s.second, s.rps, s.failures, s.latency, s.active_users, s.target_users));
      })
      .catch(() => {})
      .finally(() => {
        backfilled = true;
        buffered.splice(0).forEach(onTick);
      });
    const errorsTimer = setInterval(() => void loadErrors().catch(() => {}), 10_000);
    cleanups.push(() => clearInterval(errorsTimer));
  } else {
    showEnd(session.status, session.reason ?? null);
    void loadPast(session, charts, (seconds) => {
      accuracy.showPast(session.summary, seconds);
      if (!session.summary) {
        // No report (the session was killed): its endpoints' counts come from the stored seconds.
        for (const s of seconds) {
          for (const e of s.endpoints) {
            const r = row(e.endpoint);
            r.requests += e.requests;
            for (const c of FAILURE_CLASSES) r.failures[c] += e.failures[c];
            r.shortCircuited += e.short_circuited;
          }
        }
        const all = [...endpoints.values()].reduce((n, r) => n + r.requests, 0);
        for (const r of endpoints.values()) {
          showCounts(r);
          setText(r.cells.share, fmt.percent(all ? r.requests / all : 0));
        }
      }
      // Without a report, the flows' totals as of the last stored second; with one, only the
      // weights in force at the end.
      for (const f of fromSeconds(seconds)) {
        if (!session.summary) flows.show(f);
        else if (f.weight != null) flows.weight(f.name, f.weight);
      }
      const last = seconds[seconds.length - 1];
      for (const e of last?.endpoints ?? []) endpoints.get(e.endpoint)?.weight?.show(e.weight);
      const total = session.summary;
      if (last) {
        const requests = total?.requests ?? session.totals.requests;
        showSecond({
          ...last,
          // Whole-run figures: the report's, or (a session killed before it) the store's totals,
          // whose p95 is the whole run's; other percentiles are then unknown, never a last second's.
          whole: {
            rps: total?.rps ?? requests / Math.max(session.totals.duration_s, 1e-3),
            latency: total?.latency_ms ?? { p50: null, p95: session.totals.p95_ms, p99: null },
            requests,
            failures: total?.failures ?? session.totals.failures,
          },
          recent: null,
          active_users: 0,
          window_error_rate: null,
          elapsed_s: session.totals.duration_s,
          remaining_s: 0,
          total_requests: total?.requests ?? session.totals.requests,
        });
      }
    });
    const all = session.summary?.requests ?? 0;
    for (const e of session.summary?.endpoints ?? []) {
      const r = row(e.name);
      r.requests = e.requests;
      r.failures = { ...e.failures_by_class };
      r.shortCircuited = e.short_circuited;
      showCounts(r);
      showLatency(r, e.requests ? e.latency_ms : null);
      setText(r.cells.share, fmt.percent(all ? e.requests / all : 0));
      setText(r.cells.breaker, "–");
    }
    for (const f of session.summary?.flows ?? []) flows.show(fromReport(f));
  }
  void loadErrors().catch(() => {});
  return () => cleanups.forEach((c) => c());
}

async function loadPast(session: Session, charts: ReturnType<typeof sessionCharts>, done: (s: SecondRow[]) => void): Promise<void> {
  const { seconds } = await get<{ seconds: SecondRow[] }>(`/api/sessions/${session.id}/stats?limit=86400`);
  for (const s of seconds) charts.push({ second: s.second, rps: s.rps, failures: s.failures, p50: s.latency.p50, p95: s.latency.p95, p99: s.latency.p99, active: s.active_users, target: s.target_users });
  done(seconds);
}

function renderControls(root: HTMLElement, session: Session, lastChange: HTMLElement): void {
  const cfg = session.live?.config;
  const users = h("input", { type: "number", id: "users-input", min: 1, max: session.config?.load?.max_users ?? undefined, step: 1, value: cfg?.users ?? "" });
  const thinkMin = h("input", { id: "think-min", value: cfg?.think_time?.min ?? "" });
  const thinkMax = h("input", { id: "think-max", value: cfg?.think_time?.max ?? "" });
  const patch = async (body: Record<string, unknown>, what: string) => {
    try {
      await call("PATCH", `/api/sessions/${session.id}`, body);
      toast(`${what} applied.`);
    } catch (e) {
      toast(`${what} not applied: ${e instanceof Error ? e.message : e}`, "error");
    }
  };
  fill(
    root,
    h("h2", { id: "controls-title" }, "Steer"),
    h(
      "div",
      { class: "row" },
      h(
        "form",
        {
          class: "inline-form",
          id: "users-form",
          onsubmit: (e: Event) => {
            e.preventDefault();
            const n = Number(users.value);
            if (!Number.isInteger(n) || n < 1) return toast(`Users: \`${users.value}\` is not a whole number of at least 1.`, "error");
            void patch({ users: n }, `Users ${n}`);
          },
        },
        field("Users", users, session.config?.load?.max_users ? `1 to ${session.config.load.max_users}` : undefined),
        h("button", { type: "submit", class: "btn btn-primary", id: "users-apply" }, "Apply users"),
      ),
      h(
        "form",
        {
          class: "inline-form",
          id: "think-form",
          onsubmit: (e: Event) => {
            e.preventDefault();
            const [a, b] = [thinkMin.value.trim(), thinkMax.value.trim()];
            if (fmt.parseDuration(a) == null || fmt.parseDuration(b) == null) return toast("Think time: give min and max as durations such as 0s, 250ms, 2s.", "error");
            void patch({ think_time: { min: a, max: b } }, `Think time ${a}..${b}`);
          },
        },
        field("Think time min", thinkMin),
        field("Think time max", thinkMax),
        h("button", { type: "submit", class: "btn btn-light", id: "think-apply" }, "Apply think time"),
      ),
      h("div", { class: "inline-form" }, h("button", { type: "button", class: "btn btn-emergency", onclick: () => void emergencyStop() }, "⚠ Emergency stop")),
    ),
    lastChange,
  );
}

function zeroFailures(): FailureCounts {
  return { connect: 0, timeout: 0, status_4xx: 0, status_5xx: 0, unexpected: 0, capture: 0, check: 0 };
}

function failureText(f: FailureCounts): string {
  const labels: Record<keyof FailureCounts, string> = { connect: "connect", timeout: "timeout", status_4xx: "4xx", status_5xx: "5xx", unexpected: "unexpected", capture: "capture", check: "check" };
  const parts = FAILURE_CLASSES.filter((c) => f[c] > 0).map((c) => `${labels[c]} ${fmt.count(f[c])}`);
  return parts.length ? parts.join(" · ") : "0";
}

/** The run's verdicts: its thresholds and the defaults every run gets, with observed values in their units. */
function verdicts(thresholds: Report["thresholds"]): HTMLElement {
  return h(
    "section",
    { "aria-labelledby": "verdicts-title" },
    h("h2", { id: "verdicts-title" }, "Verdicts"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table", id: "verdict-table" },
        h("thead", {}, h("tr", {}, ["Verdict", "Rule", "Observed"].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          thresholds.map((t) =>
            h("tr", {}, h("td", {}, badge(t.passed ? "PASS" : "FAIL", t.passed ? "completed" : "failed")), h("td", {}, t.rule), h("td", {}, fmt.observed(t.observed, t.unit ?? ""))),
          ),
        ),
      ),
    ),
  );
}
