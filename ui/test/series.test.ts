import assert from "node:assert/strict";
import { test } from "node:test";

import { SeriesWindow, ShareWindow } from "../src/series";

test("a chart window keeps at most its capacity, newest last", () => {
  const w = new SeriesWindow(2, 3);
  for (let s = 1; s <= 5; s++) assert.ok(w.push(s, [s * 10, s * 100]));
  assert.deepEqual(w.data(), [
    [3, 4, 5],
    [30, 40, 50],
    [300, 400, 500],
  ]);
  assert.equal(w.length, 3);
});

test("a second seen twice (stored stats, then the live stream) counts once", () => {
  const w = new SeriesWindow(1, 10);
  assert.ok(w.push(1, [1]));
  assert.ok(w.push(2, [2]));
  assert.equal(w.push(2, [99]), false);
  assert.equal(w.push(1, [99]), false);
  assert.deepEqual(w.data(), [
    [1, 2],
    [1, 2],
  ]);
});

test("an hour of ticks stays an hour: memory is bounded however long the page is open", () => {
  const w = new SeriesWindow(3, 3600);
  for (let s = 0; s < 4 * 3600; s++) w.push(s, [s, s, s]);
  assert.equal(w.length, 3600);
  assert.equal(w.data()[0][0], 3 * 3600);
  assert.ok(w.data().every((c) => c.length === 3600));
});

test("bad values become gaps, wrong widths are refused", () => {
  const w = new SeriesWindow(1, 5);
  w.push(1, [Infinity]);
  assert.ok(Number.isNaN(w.data()[1][0]));
  assert.throws(() => w.push(2, [1, 2]), /expected 1 values, got 2/);
  assert.throws(() => new SeriesWindow(1, 0), /capacity/);
});

test("shares of traffic over a sliding window", () => {
  const s = new ShareWindow(3);
  s.push(new Map([["a", 30], ["b", 10]]));
  assert.equal(s.share("a"), 0.75);
  s.push(new Map([["a", 0], ["b", 40]]));
  s.push(new Map([["a", 0], ["b", 40]]));
  s.push(new Map([["a", 0], ["b", 40]]));
  assert.equal(s.share("a"), 0, "the old second left the window");
  assert.equal(s.share("b"), 1);
  assert.equal(new ShareWindow(3).share("a"), 0);
});
