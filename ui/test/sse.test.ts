import assert from "node:assert/strict";
import { test } from "node:test";

import { reconnectDelay, SseParser } from "../src/sse";

test("events split across chunks, with ids, names and multi-line data", () => {
  const p = new SseParser();
  assert.deepEqual(p.feed(": connected\nretry: 2000\n\nid: 7\nevent: ti"), []);
  assert.equal(p.retry, 2000);
  const out = p.feed('ck\ndata: {"a":\ndata: 1}\n\n');
  assert.deepEqual(out, [{ id: "7", event: "tick", data: '{"a":\n1}' }]);
  assert.equal(p.lastId, "7");
});

test("CRLF and lone CR end lines; comments and unknown fields are ignored", () => {
  const p = new SseParser();
  const out = p.feed("id: 1\r\nevent: lifecycle\r\ndata: x\r\n\r\n:heartbeat\r\rfoo: bar\ndata: y\n\n");
  assert.deepEqual(out, [
    { id: "1", event: "lifecycle", data: "x" },
    { id: "1", event: "message", data: "y" },
  ]);
});

test("a CR at the end of a chunk waits to see whether LF follows", () => {
  const p = new SseParser();
  assert.deepEqual(p.feed("data: a\r"), []);
  assert.deepEqual(p.feed("\n\r\n"), [{ id: null, event: "message", data: "a" }]);
});

test("reconnecting backs off from the server's hint to 10 s", () => {
  assert.equal(reconnectDelay(1, 2000), 2000);
  assert.equal(reconnectDelay(2, 2000), 4000);
  assert.equal(reconnectDelay(3, 2000), 8000);
  assert.equal(reconnectDelay(9, 2000), 10_000);
  assert.equal(reconnectDelay(1, null), 2000);
  assert.equal(reconnectDelay(1, 30_000), 30_000);
});
