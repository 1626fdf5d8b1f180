import assert from "node:assert/strict";
import { test } from "node:test";

import { traceLink } from "../src/trace_url";

test("a trace id fills every placeholder of the template", () => {
  const id = "4bf92f3577b34da6a3ce929d0e0e4736";
  assert.equal(traceLink("http://localhost:3000/explore?q={trace_id}", id), `http://localhost:3000/explore?q=${id}`);
  assert.equal(traceLink("https://t.example/trace/{trace_id}#{trace_id}", id), `https://t.example/trace/${id}#${id}`);
});

test("no template, or one the server would refuse, gives no link", () => {
  assert.equal(traceLink(null, "ab"), null);
  assert.equal(traceLink("", "ab"), null);
  assert.equal(traceLink("http://localhost:3000/explore", "ab"), null);
  assert.equal(traceLink("javascript:alert('{trace_id}')", "ab"), null);
});

test("the id is encoded as a URL component", () => {
  assert.equal(traceLink("http://h/{trace_id}", "a b&c"), "http://h/a%20b%26c");
});
