import assert from "node:assert/strict";
import { test } from "node:test";

import { fromReport, fromSeconds, fromTick, scenarioFlows, stepRows } from "../src/flows";
import type { FlowTick, Scenario, SecondRow } from "../src/types";

const latency = (p95: number) => ({ p50: p95 / 2, p90: p95 * 0.9, p95, p99: p95 * 2, max: p95 * 3, avg: p95 / 2 });

const config = {
  endpoints: [{ name: "home", method: "GET", path: "/", weight: 1 }],
  flows: [
    {
      name: "todo-crud",
      weight: 2,
      steps: [
        { name: "create", request: { name: "todo-crud/create", method: "POST", path: "/api/v1/todos", weight: 1 } },
        { name: "read", request: { name: "todo-crud/read", method: "GET", path: "/api/v1/todos/{{ id }}", weight: 1 } },
      ],
    },
  ],
} as unknown as Scenario;

function tick(name: string, started: number, completed: number, failed: number, weight = 2): FlowTick {
  return { name, started: 1, completed: 1, failed: 0, journey: latency(10), weight, totals: { started, completed, failed, journey: latency(300) } };
}

test("a flow's steps are named flow/step, and say their flow and request", () => {
  const steps = stepRows(config);
  assert.deepEqual([...steps.keys()], ["todo-crud/create", "todo-crud/read"]);
  assert.deepEqual(steps.get("todo-crud/read"), { flow: "todo-crud", step: "read", request: "GET /api/v1/todos/{{ id }}" });
  assert.equal(steps.has("home"), false, "an endpoint is not a step");
  assert.equal(stepRows(null).size, 0);
  assert.deepEqual(scenarioFlows(config), [{ name: "todo-crud", weight: 2 }]);
});

test("a tick's flow shows its totals since the start, never its second's figures", () => {
  const f = fromTick(tick("todo-crud", 40, 30, 8, 3), 10);
  assert.equal(f.started, 40);
  assert.equal(f.completed, 30);
  assert.equal(f.failed, 8);
  assert.equal(f.journey?.p95, 300, "the whole run's journey p95");
  assert.equal(f.rate, 3, "completed iterations per second of the whole run");
  assert.equal(f.weight, 3);
  // Nothing completed yet: no journey percentiles (not 0 ms), and no rate without a clock.
  const none = fromTick(tick("todo-crud", 2, 0, 2), null);
  assert.equal(none.journey, null);
  assert.equal(none.rate, null);
});

test("an ended session's flows come from its report, else from the last stored second that has them", () => {
  const r = fromReport({ name: "todo-crud", started: 10, completed: 9, failed: 1, rate: 0.9, journey_ms: latency(250) });
  assert.equal(r.rate, 0.9);
  assert.equal(r.journey?.p99, 500);
  assert.equal(r.weight, null);
  const second = (n: number, flows: FlowTick[]) => ({ second: n, flows }) as unknown as SecondRow;
  const out = fromSeconds([second(1, [tick("todo-crud", 5, 3, 1)]), second(2, [tick("todo-crud", 10, 8, 1)]), second(3, [])]);
  assert.equal(out.length, 1);
  assert.equal(out[0].completed, 8);
  assert.equal(out[0].rate, 4, "over the 2 seconds it covers");
  assert.deepEqual(fromSeconds([]), []);
});
