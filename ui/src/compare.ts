// Two sessions side by side: which figures moved, by how much, and whether that is better.

import type { EndpointReport, Report } from "./types";

/** `missing`: one side has no such figure, so there is nothing to compare. */
export type Verdict = "better" | "worse" | "same" | "missing";

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

/** What each figure is, and which direction is good. */
export const FIGURES: { key: string; label: string; higherIsBetter: boolean; unit: "count" | "rate" | "ms" | "share" | "s" }[] = [
  { key: "requests", label: "Requests", higherIsBetter: true, unit: "count" },
  { key: "rps", label: "Requests/s", higherIsBetter: true, unit: "rate" },
  { key: "error_rate", label: "Error rate", higherIsBetter: false, unit: "share" },
  { key: "failures", label: "Failures", higherIsBetter: false, unit: "count" },
  { key: "p50", label: "p50 latency", higherIsBetter: false, unit: "ms" },
  { key: "p95", label: "p95 latency", higherIsBetter: false, unit: "ms" },
  { key: "p99", label: "p99 latency", higherIsBetter: false, unit: "ms" },
  { key: "max", label: "Max latency", higherIsBetter: false, unit: "ms" },
  { key: "duration_s", label: "Duration", higherIsBetter: true, unit: "s" },
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
    let verdict: Verdict = delta == null ? "missing" : "same";
    if (delta != null && delta !== 0) {
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
