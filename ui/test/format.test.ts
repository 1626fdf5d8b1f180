import assert from "node:assert/strict";
import { test } from "node:test";

import * as fmt from "../src/format";

test("counts, rates and shares read the same everywhere", () => {
  assert.equal(fmt.count(12345.4), "12,345");
  assert.equal(fmt.count(null), "–");
  assert.equal(fmt.rate(0.5), "0.5");
  assert.equal(fmt.rate(12.34), "12.3");
  assert.equal(fmt.rate(1234.5), "1,235");
  assert.equal(fmt.rate(0), "0");
  assert.equal(fmt.percent(0), "0 %");
  assert.equal(fmt.percent(0.0005), "0.05 %");
  assert.equal(fmt.percent(0.012), "1.2 %");
  assert.equal(fmt.percent(1), "100 %");
  assert.equal(fmt.percent(NaN), "–");
});

test("latencies pick their unit", () => {
  assert.equal(fmt.ms(0.42), "0.42 ms");
  assert.equal(fmt.ms(12.34), "12.3 ms");
  assert.equal(fmt.ms(850), "850 ms");
  assert.equal(fmt.ms(1250), "1.25 s");
  assert.equal(fmt.ms(125_000), "2 min 05 s");
  assert.equal(fmt.ms(undefined), "–");
});

test("sizes in bytes", () => {
  assert.equal(fmt.bytes(512), "512 B");
  assert.equal(fmt.bytes(3.4 * 1024), "3.4 KiB");
  assert.equal(fmt.bytes(12 * 1024 * 1024), "12.0 MiB");
  assert.equal(fmt.bytes(1.5 * 1024 ** 3), "1.50 GiB");
  assert.equal(fmt.bytes(null), "–");
});

test("durations and times", () => {
  assert.equal(fmt.duration(45), "45 s");
  assert.equal(fmt.duration(185), "3 min 05 s");
  assert.equal(fmt.duration(3720), "1 h 02 min");
  assert.equal(fmt.duration(-1), "–");
  const now = new Date(2026, 10, 22, 15, 0, 0);
  assert.equal(fmt.time(new Date(2026, 10, 22, 9, 5, 7).getTime(), now), "09:05:07");
  assert.equal(fmt.time(new Date(2026, 10, 20, 9, 5, 7).getTime(), now), "2026-11-20 09:05:07");
});

test("signed changes and durations typed by people", () => {
  assert.equal(fmt.signed("12 %", 0.12), "+12 %");
  assert.equal(fmt.signed("4.0 ms", -4), "−4.0 ms");
  assert.equal(fmt.signed("0", 0), "0");
  assert.equal(fmt.parseDuration("250ms"), 250);
  assert.equal(fmt.parseDuration(" 1.5s "), 1500);
  assert.equal(fmt.parseDuration("2m"), 120_000);
  assert.equal(fmt.parseDuration("1h"), 3_600_000);
  assert.equal(fmt.parseDuration("soon"), null);
  assert.equal(fmt.parseDuration("5"), null);
  assert.equal(fmt.value({ a: 1 }), '{"a":1}');
  assert.equal(fmt.value(null), "–");
});
