// The HTML report in real headless Chromium with the network cut: a headless run's (with
// stages) and an emergency-stopped session's (built by the server from its stored seconds) both
// draw their charts offline; the staged profile shows its stages; the served report is sandboxed;
// an emergency-stopped journey session's report takes its flows from its last stored second.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { BIN, Lab, TOKEN } from "./lab.mjs";

let lab;
let context;

before(async () => {
  lab = await Lab.create();
  await lab.startServer();
  const browser = await lab.browser();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Offline: anything the report tried to load would fail (and be counted).
  await context.setOffline(true);
});

after(async () => {
  await lab?.close();
});

/** Opens a report file offline; answers what it drew and what it tried to load. */
async function open(path) {
  const page = await context.newPage();
  const requests = [];
  page.on("request", (r) => {
    if (!r.url().startsWith("file:")) requests.push(r.url());
  });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`file://${path}`);
  await page.locator("#chart-users canvas").waitFor();
  // Pixels that are not blank, over every chart's canvas.
  const drawn = await page.evaluate(() =>
    [...document.querySelectorAll(".chart canvas")].map((c) => {
      const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
      return painted;
    }),
  );
  return { page, requests, errors, drawn };
}

test("a headless run's report draws offline and shows its stages", async () => {
  const scenario = join(lab.dataDir, "staged.yaml");
  writeFileSync(
    scenario,
    `name: staged <b>report</b>
description: Stages up and down, for the report's test
target: http://127.0.0.1:${lab.ports.ec}
load:
  users: 2
  max_users: 4
  duration: 5s
  think_time: { min: 20ms, max: 40ms }
  stages:
    - { users: 4, duration: 2s }
    - { users: 1, duration: 2s }
endpoints:
  - { name: products, path: /api/products }
`,
  );
  const html = join(lab.dataDir, "run-report.html");
  const run = spawnSync(BIN, ["run", scenario, "--quiet", "--html", html], { encoding: "utf8", timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  const { page, requests, errors, drawn } = await open(html);
  assert.deepEqual(requests, [], "the report loads nothing");
  assert.deepEqual(errors, []);
  assert.equal(drawn.length, 3);
  for (const n of drawn) assert.ok(n > 500, `a chart is drawn: ${drawn}`);
  assert.match(await page.locator("#stages").innerText(), /4 users for 2s → 1 users for 2s/);
  assert.equal(await page.locator("#scenario").innerText(), "staged <b>report</b>");
  assert.match(await page.locator("#verdict").innerText(), /PASS/);
  await page.close();
});

test("an emergency-stopped session's report is built from its stored seconds, sandboxed", async () => {
  const session = await lab.api("POST", "/api/sessions", { scenario: "panel", overrides: { users: 2 } });
  for (let i = 0; i < 60; i++) {
    const s = await lab.api("GET", `/api/sessions/${session.id}`);
    if (s.totals.seconds >= 3) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await lab.api("POST", "/api/emergency-stop");
  const r = await fetch(`${lab.url}/api/sessions/${session.id}/report`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-security-policy") ?? "", /sandbox allow-scripts/);
  assert.doesNotMatch(r.headers.get("content-security-policy") ?? "", /allow-same-origin/);
  const html = join(lab.dataDir, "aborted-report.html");
  writeFileSync(html, await r.text());
  const { page, requests, errors, drawn } = await open(html);
  assert.deepEqual(requests, []);
  assert.deepEqual(errors, []);
  for (const n of drawn) assert.ok(n > 500, `a chart is drawn: ${drawn}`);
  assert.match(await page.locator("body").innerText(), /aborted: emergency stop/);
  assert.match(await page.locator("#verdict").innerText(), /NOT JUDGED/);
  assert.ok(Number((await page.locator("#figures .figure b").first().innerText()).replace(/\D/g, "")) > 0, "requests counted from the stored seconds");
  await page.close();
});

test("an emergency-stopped journey session's report takes its flows from its last stored second", async () => {
  const session = await lab.api("POST", "/api/sessions", { scenario: "journey", overrides: { users: 2 } });
  for (let i = 0; i < 60; i++) {
    const s = await lab.api("GET", `/api/sessions/${session.id}`);
    if (s.totals.seconds >= 3) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await lab.api("POST", "/api/emergency-stop");
  const { seconds } = await lab.api("GET", `/api/sessions/${session.id}/stats?limit=86400`);
  const last = seconds.filter((s) => s.flows?.length).at(-1);
  const shop = last.flows.find((f) => f.name === "shop").totals;
  assert.ok(shop.completed > 0, JSON.stringify(shop));
  const r = await fetch(`${lab.url}/api/sessions/${session.id}/report`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  const html = join(lab.dataDir, "journey-report.html");
  writeFileSync(html, await r.text());
  const { page, errors } = await open(html);
  assert.deepEqual(errors, []);
  const row = (await page.locator("#flows tbody tr").first().innerText()).split("\t").map((c) => c.trim());
  assert.equal(row[0], "shop");
  assert.deepEqual(row.slice(1, 4).map(Number), [shop.started, shop.completed, shop.failed]);
  assert.match(row[6], /\d (ms|s)$/, "the journey p95 up to that second");
  assert.match(await page.locator("#flows + p").innerText(), /totals as of the last recorded second/);
  assert.match(await page.locator("#failure-classes").innerText(), /capture [1-9]/);
  await page.close();
});
