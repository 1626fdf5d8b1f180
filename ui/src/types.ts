// The shapes the control server answers, by their names in its OpenAPI document. They are
// generated into `api-types.ts` (`npm run types`, from `docs/openapi.json`, which
// `load-tester openapi` writes from the server's code); nothing here restates a field.

import type { components } from "./api-types";

type Schemas = components["schemas"];

export type Latency = Schemas["Latency"];
export type FailureCounts = Schemas["FailureCounts"];
export type FailureClass = Schemas["FailureClass"];
export type Breaker = Schemas["BreakerState"];
export type EndpointTick = Schemas["EndpointTick"];
export type FlowTick = Schemas["FlowTick"];
export type LiveConfig = Schemas["LiveConfig"];
export type LiveChange = Schemas["LiveChange"];
/** An SSE `tick` event's data. */
export type Tick = Schemas["Tick"] & { session_id?: string };
/** An SSE `error` event's data. */
export type ErrorSample = Schemas["ErrorSample"] & { session_id?: string };
export type LifecycleEvent = Schemas["LifecycleEvent"];
export type ChangeEvent = Schemas["ChangeEvent"];
/** A stored second (`GET /api/sessions/{id}/stats`). */
export type SecondRow = Schemas["SecondRow"];
export type Totals = Schemas["Totals"];
export type EndpointReport = Schemas["EndpointReport"];
export type Report = Schemas["Report"];
export type FlowReport = Schemas["FlowReport"];
export type Scenario = Schemas["Scenario"];
export type Session = Schemas["Session"];
/** One generator of a session run by several, and its health. */
export type GeneratorHealth = Schemas["GeneratorHealth"];
export type Status = Schemas["Status"];
export type ErrorGroup = Schemas["ErrorGroupRow"];
export type Diagnostic = Schemas["Diagnostic"];
export type ScenarioFile = Schemas["ScenarioFile"];
export type ConfigChange = Schemas["ConfigChange"];
export type AuditEntry = Schemas["AuditEntry"];
export type SettingsView = Schemas["SettingsView"];
export type ApiErrorBody = Schemas["ErrorBody"];

/** Failure classes in report order. */
export const FAILURE_CLASSES: (keyof FailureCounts)[] = ["connect", "timeout", "status_4xx", "status_5xx", "unexpected", "capture", "check"];

/** Statuses in which a session still runs. */
export const LIVE_STATUSES: Status[] = ["starting", "running", "stopping"];

export function isLive(status: Status): boolean {
  return LIVE_STATUSES.includes(status);
}
