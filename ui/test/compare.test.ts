import assert from "node:assert/strict";
import { test } from "node:test";

import { diff, diffEndpoints, diffFlows, figuresOf, figuresOfFlow, unlike } from "../src/compare";
import type { Report } from "../src/types";

const latency = (p95: number) => ({ p50: p95 / 2, p90: p95 * 0.9, p95, p99: p95 * 2, max: p95 * 3, avg: p95 / 2 });
const failures = { connect: 0, timeout: 0, status_4xx: 0, status_5xx: 0, unexpected: 0, capture: 0, check: 0 };

function report(rps: number, p95: number, failed: number, endpoints: [string, number][]): Report {
  return {
    scenario: "s",
    target: "http://127.0.0.1:1",
    started_at_ms: 0,
    duration_s: 60,
    end_reason: { kind: "completed" },
    requests: rps * 60,
    failures: failed,
    short_circuited: 0,
    rps,
    error_rate: failed / (rps * 60),
    latency_ms: latency(p95),
    max_users: 10,
    endpoints: endpoints.map(([name, p]) => ({ name, method: "GET", requests: 100, failures: 0, failures_by_class: failures, short_circuited: 0, rps: 1, latency_ms: latency(p) })),
    thresholds: [],
  };
}

test("higher throughput is better, higher latency and error rate worse", () => {
  const rows = diff(figuresOf(report(100, 50, 6, [])), figuresOf(report(120, 80, 60, [])));
  const by = Object.fromEntries(rows.map((r) => [r.key, r]));
  assert.equal(by.rps.verdict, "better");
  assert.equal(by.rps.delta, 20);
  assert.equal(by.rps.relative, 0.2);
  assert.equal(by.p95.verdict, "worse");
  assert.equal(by.error_rate.verdict, "worse");
});

test("counts and durations are shown without a verdict", () => {
  const long = { ...report(100, 50, 6, []), duration_s: 120, requests: 12000 };
  const rows = diff(figuresOf(report(100, 50, 6, [])), figuresOf(long));
  const by = Object.fromEntries(rows.map((r) => [r.key, r]));
  assert.equal(by.duration_s.verdict, "unjudged");
  assert.equal(by.requests.verdict, "unjudged");
  assert.equal(by.requests.delta, 6000);
  assert.equal(by.rps.verdict, "same");
});

test("different scenarios or load are named", () => {
  assert.deepEqual(unlike({ scenario: "a", users: 4 }, { scenario: "a", users: 4 }), []);
  const said = unlike({ scenario: "a", users: 4, duration: "1m" }, { scenario: "b", users: 8, duration: "2m" });
  assert.equal(said.length, 3);
  assert.match(said[0], /different scenarios \(A: a, B: b\)/);
  assert.match(said[1], /A: 4 users; B: 8 users/);
});

test("changes within the noise are the same", () => {
  const rows = diff(figuresOf(report(100, 50, 0, [])), figuresOf(report(103, 51, 0, [])));
  for (const r of rows) assert.equal(r.verdict, ["requests", "failures", "duration_s"].includes(r.key) ? "unjudged" : "same", r.key);
});

test("a figure missing on one side has no change, and a zero base has no ratio", () => {
  const rows = diff({ rps: 0, p95: 10 }, { rps: 5 });
  const by = Object.fromEntries(rows.map((r) => [r.key, r]));
  assert.equal(by.rps.relative, null);
  assert.equal(by.rps.verdict, "better");
  assert.equal(by.p95.b, null);
  assert.equal(by.p95.delta, null);
  assert.equal(by.p95.verdict, "missing");
});

test("endpoints are matched by name, including ones only one side has", () => {
  const out = diffEndpoints(report(1, 1, 0, [["a", 10], ["b", 10]]), report(1, 1, 0, [["b", 30], ["c", 5]]));
  assert.deepEqual(
    out.map((e) => e.name),
    ["a", "b", "c"],
  );
  const b = Object.fromEntries(out[1].rows.map((r) => [r.key, r]));
  assert.equal(b.p95.verdict, "worse");
  const a = Object.fromEntries(out[0].rows.map((r) => [r.key, r]));
  assert.equal(a.p95.b, null);
});

test("flows are compared by their iteration rate, failed share and journey percentiles", () => {
  const flow = (name: string, rate: number, p95: number, completed: number, failed: number) => ({ name, started: completed + failed, completed, failed, rate, journey_ms: latency(p95) });
  const a = { ...report(1, 1, 0, []), flows: [flow("checkout", 2, 400, 120, 0), flow("browse", 1, 100, 60, 0)] };
  const b = { ...report(1, 1, 0, []), flows: [flow("checkout", 1, 900, 60, 60), flow("search", 3, 0, 0, 5)] };
  const out = diffFlows(a, b);
  assert.deepEqual(
    out.map((f) => f.name),
    ["checkout", "browse", "search"],
  );
  const checkout = Object.fromEntries(out[0].rows.map((r) => [r.key, r]));
  assert.equal(checkout.iterations_rate.verdict, "worse");
  assert.equal(checkout.journey_p95.verdict, "worse");
  assert.equal(checkout.iterations_failed_share.b, 0.5);
  assert.equal(checkout.iterations_failed_share.verdict, "worse");
  assert.equal(checkout.iterations_started.verdict, "unjudged");
  // No completed iteration: no journey percentiles to compare, never a journey of 0 ms.
  const search = figuresOfFlow(b.flows[1]);
  assert.equal("journey_p95" in search, false);
  // A session's own table never gains flow rows.
  assert.ok(diff(figuresOf(a), figuresOf(b)).every((r) => !r.key.startsWith("journey") && !r.key.startsWith("iterations")));
});
