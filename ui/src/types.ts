// The shapes the control server answers (docs/api.md, docs/protocol.md).

export interface Latency {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  avg: number;
}

export interface FailureCounts {
  connect: number;
  timeout: number;
  status_4xx: number;
  status_5xx: number;
  unexpected: number;
}

export const FAILURE_CLASSES: (keyof FailureCounts)[] = [
  "connect",
  "timeout",
  "status_4xx",
  "status_5xx",
  "unexpected",
];

export type Breaker = "closed" | "open" | "half_open";

export interface EndpointTick {
  name: string;
  requests: number;
  failures: FailureCounts;
  short_circuited: number;
  latency: Latency;
  weight: number;
  breaker: Breaker;
}

export interface Tick {
  session_id?: string;
  second: number;
  at_ms: number;
  elapsed_s: number;
  remaining_s: number;
  active_users: number;
  target_users: number;
  requests: number;
  failures: number;
  short_circuited: number;
  rps: number;
  latency: Latency;
  total_requests: number;
  total_failures: number;
  errors_last_minute: number;
  load_reduction?: { parked_users: number; window_error_rate: number } | null;
  users_in_backoff: number;
  endpoints: EndpointTick[];
}

/** A stored second (`GET /api/sessions/{id}/stats`). */
export interface SecondRow {
  second: number;
  at_ms: number;
  active_users: number;
  target_users: number;
  requests: number;
  failures: number;
  short_circuited: number;
  rps: number;
  latency: Latency;
  users_in_backoff: number;
  parked_users: number;
  errors_last_minute: number;
  endpoints: {
    endpoint: string;
    requests: number;
    failures: FailureCounts;
    short_circuited: number;
    latency: Latency;
  }[];
}

export interface Totals {
  seconds: number | null;
  requests: number;
  failures: number;
  error_rate: number;
  rps: number | null;
  p95_ms: number | null;
  active_users: number | null;
}

export interface LiveConfig {
  users: number;
  weights: Record<string, number>;
  think_time: { min: string; max: string } | null;
  arrival_rate: number | null;
}

export interface EndpointReport {
  name: string;
  method: string;
  requests: number;
  failures: number;
  failures_by_class: FailureCounts;
  short_circuited: number;
  rps: number;
  latency_ms: Latency;
}

export interface Report {
  scenario: string;
  target: string;
  started_at_ms: number;
  duration_s: number;
  end_reason: { kind: string; by?: string; reason?: string };
  requests: number;
  failures: number;
  short_circuited: number;
  rps: number;
  error_rate: number;
  latency_ms: Latency;
  max_users: number;
  endpoints: EndpointReport[];
  thresholds: { rule: string; passed: boolean; observed: number | null }[];
}

export interface ScenarioEndpoint {
  name: string;
  method?: string;
  path?: string;
  weight: number;
}

export interface Session {
  id: string;
  scenario: string;
  source: string;
  target: string;
  status: string;
  reason: string | null;
  created_by: string;
  created_at_ms: number;
  started_at_ms: number | null;
  ended_at_ms: number | null;
  totals: Totals;
  live: {
    config: LiveConfig;
    last_tick: Tick | null;
    totals: Record<string, { requests: number; failures: FailureCounts; short_circuited: number }>;
  } | null;
  config?: {
    load?: { users?: number; max_users?: number; duration?: string; think_time?: { min: string; max: string } };
    endpoints?: ScenarioEndpoint[];
    [key: string]: unknown;
  };
  summary?: Report | null;
}

export interface ErrorGroup {
  endpoint: string;
  class: string | null;
  status: number | null;
  message: string;
  count: number;
  first_at_ms: number;
  last_at_ms: number;
  trace_ids: string[];
}

export interface ErrorSample {
  session_id?: string;
  endpoint: string;
  class: string | null;
  status?: number | null;
  message: string;
  trace_id?: string | null;
  latency_ms: number;
  at_ms: number;
}

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export interface ScenarioFile {
  file: string;
  name?: string;
  description?: string | null;
  target?: string;
  users?: number;
  duration?: string;
  endpoints?: string[];
  valid: boolean;
  problems?: string[];
  yaml: string;
}

export interface ConfigChange {
  id: number | null;
  session_id: string | null;
  who: string;
  at_ms: number;
  field: string;
  old: unknown;
  new: unknown;
}

export interface AuditEntry {
  id: number | null;
  at_ms: number;
  who: string;
  client: string;
  action: string;
  target: string | null;
  result: string;
  status: number;
  detail: string | null;
}

/** Statuses in which a session still runs. */
export const LIVE_STATUSES = ["starting", "running", "stopping"];

export function isLive(status: string): boolean {
  return LIVE_STATUSES.includes(status);
}
