// Two sessions side by side: which figures moved, by how much, and whether that is better.

import type { EndpointReport, FlowReport, Report } from "./types";

/**
 * `missing`: one side has no such figure, so there is nothing to compare; `unjudged`: a count or
 * a duration, which says how long a run was, not how well the target did.
 */
export type Verdict = "better" | "worse" | "same" | "missing" | "unjudged";

export interface Row {
  key: string;
  label: string;
  a: number | null;
  b: number | null;
  /** b − a. */
  delta: number | null;
  /** (b − a) / a; null when a is 0 or missing. */
  relative: number | null;
  verdict: Verdict;
}

/**
 * What each figure is, and which direction is good. Only rates and latencies are judged: counts
 * and durations grow with the run's length, so they are shown without a verdict.
 */
export const FIGURES: { key: string; label: string; higherIsBetter: boolean | null; unit: "count" | "rate" | "ms" | "share" | "s" }[] = [
  { key: "rps", label: "Requests/s", higherIsBetter: true, unit: "rate" },
  { key: "error_rate", label: "Error rate", higherIsBetter: false, unit: "share" },
  { key: "p50", label: "p50 latency", higherIsBetter: false, unit: "ms" },
  { key: "p95", label: "p95 latency", higherIsBetter: false, unit: "ms" },
  { key: "p99", label: "p99 latency", higherIsBetter: false, unit: "ms" },
  { key: "max", label: "Max latency", higherIsBetter: false, unit: "ms" },
  { key: "requests", label: "Requests", higherIsBetter: null, unit: "count" },
  { key: "failures", label: "Failures", higherIsBetter: null, unit: "count" },
  { key: "duration_s", label: "Duration", higherIsBetter: null, unit: "s" },
  // A flow's (journey's) figures, whole run.
  { key: "iterations_rate", label: "Completed iterations/s", higherIsBetter: true, unit: "rate" },
  { key: "iterations_failed_share", label: "Failed iterations", higherIsBetter: false, unit: "share" },
  { key: "journey_p50", label: "Journey p50", higherIsBetter: false, unit: "ms" },
  { key: "journey_p95", label: "Journey p95", higherIsBetter: false, unit: "ms" },
  { key: "journey_p99", label: "Journey p99", higherIsBetter: false, unit: "ms" },
  { key: "iterations_started", label: "Iterations started", higherIsBetter: null, unit: "count" },
  { key: "iterations_completed", label: "Iterations completed", higherIsBetter: null, unit: "count" },
];

/** Relative changes smaller than this are noise, not a difference. */
export const NOISE = 0.05;

/** The figures of a session's report, by key. */
export function figuresOf(r: Report | EndpointReport): Record<string, number> {
  const out: Record<string, number> = {
    requests: r.requests,
    rps: r.rps,
    failures: r.failures,
    error_rate: r.requests ? r.failures / r.requests : 0,
    p50: r.latency_ms.p50,
    p95: r.latency_ms.p95,
    p99: r.latency_ms.p99,
    max: r.latency_ms.max,
  };
  if ("duration_s" in r) out.duration_s = r.duration_s;
  return out;
}

/** Compares figure by figure; a row for every figure either side has. */
export function diff(a: Record<string, number> | null, b: Record<string, number> | null): Row[] {
  return FIGURES.filter((f) => (a && f.key in a) || (b && f.key in b)).map((f) => {
    const va = a?.[f.key] ?? null;
    const vb = b?.[f.key] ?? null;
    const delta = va != null && vb != null ? vb - va : null;
    const relative = delta != null && va ? delta / Math.abs(va) : null;
    let verdict: Verdict = delta == null ? "missing" : f.higherIsBetter == null ? "unjudged" : "same";
    if (delta != null && delta !== 0 && f.higherIsBetter != null) {
      const big = relative == null ? true : Math.abs(relative) >= NOISE;
      if (big) verdict = (delta > 0) === f.higherIsBetter ? "better" : "worse";
    }
    return { key: f.key, label: f.label, a: va, b: vb, delta, relative, verdict };
  });
}

/** Endpoint by endpoint, in a's order then b's new ones. */
export function diffEndpoints(a: Report | null, b: Report | null): { name: string; rows: Row[] }[] {
  const names: string[] = [];
  for (const e of [...(a?.endpoints ?? []), ...(b?.endpoints ?? [])]) {
    if (!names.includes(e.name)) names.push(e.name);
  }
  return names.map((name) => {
    const ea = a?.endpoints.find((e) => e.name === name);
    const eb = b?.endpoints.find((e) => e.name === name);
    return { name, rows: diff(ea ? figuresOf(ea) : null, eb ? figuresOf(eb) : null) };
  });
}

/** A flow's whole-run figures, by key; no journey percentiles before a completed iteration. */
export function figuresOfFlow(f: FlowReport): Record<string, number> {
  const ended = f.completed + f.failed;
  const out: Record<string, number> = {
    iterations_rate: f.rate,
    iterations_failed_share: ended ? f.failed / ended : 0,
    iterations_started: f.started,
    iterations_completed: f.completed,
  };
  if (f.completed) {
    out.journey_p50 = f.journey_ms.p50;
    out.journey_p95 = f.journey_ms.p95;
    out.journey_p99 = f.journey_ms.p99;
  }
  return out;
}

/** Flow by flow, in a's order then b's new ones. */
export function diffFlows(a: Report | null, b: Report | null): { name: string; rows: Row[] }[] {
  const names: string[] = [];
  for (const f of [...(a?.flows ?? []), ...(b?.flows ?? [])]) {
    if (!names.includes(f.name)) names.push(f.name);
  }
  return names.map((name) => {
    const fa = a?.flows?.find((f) => f.name === name);
    const fb = b?.flows?.find((f) => f.name === name);
    return { name, rows: diff(fa ? figuresOfFlow(fa) : null, fb ? figuresOfFlow(fb) : null) };
  });
}

/** The load a session was asked to run, as compared for like-for-like. */
export interface LoadShape {
  scenario: string;
  users?: number;
  max_users?: number;
  arrival_rate?: number | null;
  duration?: string;
}

/** Why two sessions' figures are not like for like, if they are not: one sentence each. */
export function unlike(a: LoadShape, b: LoadShape): string[] {
  const out: string[] = [];
  if (a.scenario !== b.scenario) out.push(`They ran different scenarios (A: ${a.scenario}, B: ${b.scenario}).`);
  const load = (s: LoadShape) => `${s.users ?? "?"} users${s.max_users && s.max_users !== s.users ? ` (up to ${s.max_users})` : ""}${s.arrival_rate ? `, ${s.arrival_rate} requests/s` : ""}`;
  if (load(a) !== load(b)) out.push(`They ran different load (A: ${load(a)}; B: ${load(b)}).`);
  if (a.duration && b.duration && a.duration !== b.duration) out.push(`They ran for different times (A: ${a.duration}, B: ${b.duration}); counts are not compared.`);
  return out;
}
