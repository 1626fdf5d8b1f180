// Flows (journeys) as the session page shows them: which request rows are a flow's steps, and
// each flow's whole-run iteration figures from whichever source the session has (a tick's
// totals, the report, or the last stored second). Figures are the engine's, never re-added.

import type { FlowReport, FlowTick, Latency, Scenario, SecondRow } from "./types";

/** A step's request row: the flow it belongs to and what it sends. */
export interface StepOf {
  flow: string;
  step: string;
  /** `METHOD path`. */
  request: string;
}

/** One flow over the whole run (so far), as its table row shows it. */
export interface FlowFigures {
  name: string;
  started: number;
  completed: number;
  failed: number;
  /** Whole-run journey percentiles; `null` before the first completed iteration. */
  journey: Latency | null;
  /** Completed iterations per second over the whole run; `null` when unknown. */
  rate: number | null;
  /** The weight in force, when the source says. */
  weight: number | null;
}

/** The request rows that are flow steps (named `flow/step`), by row name. */
export function stepRows(config: Scenario | null | undefined): Map<string, StepOf> {
  const out = new Map<string, StepOf>();
  for (const f of config?.flows ?? []) {
    for (const s of f.steps) out.set(s.request.name, { flow: f.name, step: s.name, request: `${s.request.method} ${s.request.path}` });
  }
  return out;
}

/** The flows' names and scenario weights, in scenario order. */
export function scenarioFlows(config: Scenario | null | undefined): { name: string; weight: number }[] {
  return (config?.flows ?? []).map((f) => ({ name: f.name, weight: f.weight }));
}

/** A tick's (or a stored second's) flow, by its totals since the start; `elapsedS` gives the rate. */
export function fromTick(f: FlowTick, elapsedS: number | null): FlowFigures {
  const t = f.totals;
  return {
    name: f.name,
    started: t.started,
    completed: t.completed,
    failed: t.failed,
    journey: t.completed ? t.journey : null,
    rate: elapsedS != null && elapsedS > 0 ? t.completed / elapsedS : null,
    weight: f.weight,
  };
}

/** A flow of the end-of-run report. */
export function fromReport(f: FlowReport): FlowFigures {
  return { name: f.name, started: f.started, completed: f.completed, failed: f.failed, journey: f.completed ? f.journey_ms : null, rate: f.rate, weight: null };
}

/**
 * The flows as of the last stored second that has any (a session ended without its report): their
 * totals since the start, up to that second.
 */
export function fromSeconds(seconds: SecondRow[]): FlowFigures[] {
  for (let i = seconds.length - 1; i >= 0; i--) {
    const s = seconds[i];
    if (s.flows?.length) return s.flows.map((f) => fromTick(f, s.second));
  }
  return [];
}
