// The panel end to end in real headless Chromium, against a real `load-tester serve` with its
// bundled targets: token, new session, live KPIs and charts, live weight and users changes,
// stop, emergency stop of two sessions, history, a past session, compare, settings, SSE
// reconnecting after the server is killed and restarted, and a journey session's flows table,
// step rows and a flow's live weight. Screenshots of every page go to
// ui/e2e-output/ (or $E2E_OUTPUT). What it needs: see lab.mjs.

import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { Lab, TOKEN, TRACE_URL } from "./lab.mjs";

const OUT = process.env.E2E_OUTPUT ?? join(import.meta.dirname, "..", "e2e-output");

let lab;
let page;

const base = () => lab.url;
const api = (...args) => lab.api(...args);

async function shot(name) {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

/** Waits until `read()` satisfies `ok`, polling; fails with the last value seen. */
async function until(what, read, ok, limitMs = 30_000) {
  const end = Date.now() + limitMs;
  let last;
  while (Date.now() < end) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`${what}: still ${JSON.stringify(last)} after ${limitMs} ms`);
}

const text = (selector) => page.locator(selector).first().innerText();
const number = (s) => Number(String(s).replace(/[^0-9.]/g, ""));

before(async () => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  lab = await Lab.create();
  await lab.startServer();
  const browser = await lab.browser();
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
});

after(async () => {
  await lab?.close();
});

test("the panel drives a session from the token to the compare view", { timeout: 600_000 }, async (t) => {
  let first;

  await t.test("asks for the token, refuses a wrong one, keeps a right one", async () => {
    await page.goto(`${base()}/`);
    await page.locator("#token-dialog").waitFor();
    await page.fill("#token-input", "not-the-token-at-all");
    await page.click("#token-save");
    await until("the refusal", () => text("#token-error"), (s) => /not accepted/.test(s));
    await shot("01-token-refused");
    await page.fill("#token-input", TOKEN);
    await page.click("#token-save");
    await page.locator("#token-dialog").waitFor({ state: "detached" });
    assert.ok(!page.url().includes(TOKEN), "the token never goes into the URL");
    assert.match(await text("#token-button"), /Token ✓/);
    await shot("02-overview-empty");
  });

  await t.test("new session: inline diagnostics at the right line, then a start with overrides", async () => {
    await page.click('a.nav-link[href="#/new"]');
    await page.locator("#scenario-select option[value='panel.yaml']").waitFor({ state: "attached" });
    await page.selectOption("#scenario-select", "panel.yaml");
    await until("the validation", () => text("#diagnostics"), (s) => /Valid/.test(s));
    const good = await page.inputValue("#yaml");
    await page.fill("#yaml", good.replace("users: 4", "users: -3"));
    await until("the diagnostic", () => text("#diagnostics"), (s) => /line 5, column 10/.test(s) && /load\.users/.test(s));
    assert.match(await text(".gutter .gl.bad"), /⚠ 5/);
    await shot("03-new-session-diagnostics");
    await page.fill("#yaml", good);
    await until("the validation", () => text("#diagnostics"), (s) => /Valid/.test(s));
    await page.fill("#o-users", "3");
    await page.fill("#o-duration", "5m");
    await page.fill("#w-errors", "1");
    await shot("04-new-session");
    await page.click("#start");
    await page.waitForURL(/#\/sessions\//);
    first = page.url().split("#/sessions/")[1];
  });

  await t.test("live session: KPIs and charts move", async () => {
    await until("requests/s", () => text("#kpi-rps"), (s) => number(s) > 0);
    await until("users", () => text("#kpi-users"), (s) => /^3 \/ 3$/.test(s.trim()));
    const before = number(await text("#kpi-requests"));
    const chartBefore = await page.locator(".chart canvas").first().screenshot();
    await page.waitForTimeout(2500);
    const afterRequests = number(await text("#kpi-requests"));
    assert.ok(afterRequests > before, `requests ${before} → ${afterRequests}`);
    const chartAfter = await page.locator(".chart canvas").first().screenshot();
    assert.ok(!chartBefore.equals(chartAfter), "the chart was redrawn with new seconds");
    await until("the error log", () => page.locator("#error-log li").count(), (n) => n > 0);
    await until("grouped errors with trace ids", () => page.locator("#error-groups .trace").count(), (n) => n > 0, 15_000);
    await shot("05-live-session");
  });

  await t.test("with trace_url set, an error's trace id links to its trace", async () => {
    const settings = await api("GET", "/api/settings");
    assert.equal(settings.trace_url, TRACE_URL);
    for (const where of ["#error-log", "#error-groups"]) {
      await until(`a trace link in ${where}`, () => page.locator(`${where} a.trace-link`).count(), (n) => n > 0, 30_000);
      // Read together: the live log prepends new lines, so `.first()` may name another one later.
      const [id, href, target, copyLabel] = await page
        .locator(`${where} a.trace-link`)
        .first()
        .evaluate((a) => {
          let b = a.nextElementSibling;
          while (b && !(b.tagName === "BUTTON" && b.className.includes("trace"))) b = b.nextElementSibling;
          return [a.getAttribute("data-trace-id"), a.getAttribute("href"), a.getAttribute("target"), b?.getAttribute("aria-label") ?? null];
        });
      assert.match(id, /^[0-9a-f]{32}$/, `${where}: a W3C trace id`);
      assert.equal(href, TRACE_URL.replace("{trace_id}", id), `${where}: the link is the template with the id`);
      assert.equal(target, "_blank");
      assert.equal(copyLabel, `Copy trace id ${id}`, `${where}: the id can still be copied`);
    }
  });

  await t.test("a weight applied live changes the endpoint's share", async () => {
    const share = () => text('tr[data-endpoint="products"] td[data-k="share"]');
    await until("products has traffic", share, (s) => number(s) > 10);
    await page.fill("#weight-products", "0");
    await page.press("#weight-products", "Enter");
    await until("products' share falls to 0", share, (s) => s.trim() === "0 %", 30_000);
    const other = number(await text('tr[data-endpoint="product"] td[data-k="share"]'));
    assert.ok(other > 50, `product now takes the traffic: ${other} %`);
  });

  await t.test("a running session opened again charts it from its first second", async () => {
    await until("ten seconds run", () => text("#kpi-elapsed"), (s) => /min|[1-9]\d s/.test(s));
    await page.reload();
    const seconds = () => page.locator(".chart").first().getAttribute("data-seconds");
    await until("the stored seconds, then the live ones", seconds, (s) => {
      const [from, to] = String(s ?? "").split("-").map(Number);
      return from <= 2 && to >= 10;
    });
  });

  await t.test("users change live", async () => {
    await page.fill("#users-input", "5");
    await page.click("#users-apply");
    await until("users", () => text("#kpi-users"), (s) => /^5 \/ 5$/.test(s.trim()));
    await shot("06-live-session-changed");
  });

  await t.test("stop ends the session with its reason and reports", async () => {
    await page.click("#stop");
    await until("the end", () => text("#end-reason"), (s) => /stopped/.test(s), 30_000);
    assert.equal(await page.locator("#reports a").count(), 3);
    await shot("07-session-stopped");
    // Opened again, the tiles are the whole run's and match its JSON report; the verdicts carry units.
    const report = await api("GET", `/api/sessions/${first}/report.json`);
    await page.reload();
    await page.locator("#verdict-table").waitFor();
    const ms = (s) => (/\d s$/.test(s.trim()) ? number(s) * 1000 : number(s));
    const near = (shown, exact) => Math.abs(ms(shown) - exact) <= Math.max(0.06, exact * 0.01);
    await until("whole-run p95", () => text("#kpi-p95"), (s) => near(s, report.latency_ms.p95));
    assert.ok(near(await text("#kpi-p99"), report.latency_ms.p99), await text("#kpi-p99"));
    const rate = number(await text("#kpi-error-rate"));
    assert.ok(Math.abs(rate - report.error_rate * 100) < 1, `${rate} vs ${report.error_rate}`);
    assert.equal((await text("#kpi-p95-recent")).trim(), "");
    assert.match(await text("#verdict-table"), /at least one request succeeded \(default\)/);
    assert.match(await text("#verdict-table"), / ms|%/);
  });

  await t.test("emergency stop from the page kills two sessions and says so", async () => {
    for (let i = 0; i < 2; i++) await api("POST", "/api/sessions", { scenario: "panel", overrides: { users: 2 } });
    await page.click('a.nav-link[href="#/"]');
    await until("two running rows", () => page.locator("#running-rows tr").count(), (n) => n === 2);
    await until("live figures", () => text('#running-rows td[data-k="rps"]'), (s) => number(s) > 0);
    await shot("08-overview-running");
    await page.click("#emergency-stop");
    await page.locator("#emergency-dialog").waitFor();
    assert.match(await text("#emergency-confirm"), /all 2 running sessions/);
    await shot("09-emergency-confirm");
    await page.click("#emergency-confirm");
    await until("the result", () => text("#emergency-result"), (s) => /2 sessions killed/.test(s));
    const running = await api("GET", "/api/sessions?status=starting,running,stopping");
    assert.equal(running.sessions.length, 0);
    await until("no running rows", () => page.locator("#running-rows tr").count(), (n) => n === 0);
    await shot("10-emergency-stopped");
  });

  await t.test("history filters, opens a past session, compares two", async () => {
    await page.click('a.nav-link[href="#/history"]');
    await until("three sessions", () => page.locator("#history-rows tr[data-session]").count(), (n) => n === 3);
    await page.selectOption("#filter-status", "aborted");
    await until("two aborted", () => page.locator("#history-rows tr[data-session]").count(), (n) => n === 2);
    await page.selectOption("#filter-status", "");
    await until("three sessions", () => page.locator("#history-rows tr[data-session]").count(), (n) => n === 3);
    await shot("11-history");
    await page.click(`#history-rows a[href="#/sessions/${first}"]`);
    await until("stored figures", () => text("#kpi-requests"), (s) => number(s) > 0);
    await until("endpoint rows from the report", () => text('tr[data-endpoint="product"] td[data-k="requests"]'), (s) => number(s) > 0);
    await shot("12-past-session");
    await page.goBack();
    await page.locator("#history-rows input.pick").first().waitFor();
    const boxes = page.locator("#history-rows input.pick");
    await boxes.nth(0).check();
    await boxes.nth(2).check();
    await page.click("#compare");
    await page.locator("#compare-table").waitFor();
    assert.ok((await page.locator("#compare-table tbody tr").count()) >= 5);
    assert.match(await text("#compare-table"), /better|worse|same/);
    await shot("13-compare");
  });

  await t.test("settings change at runtime and show in the history and audit", async () => {
    await page.click('a.nav-link[href="#/settings"]');
    await page.locator("#setting-max_sessions").waitFor();
    await page.fill("#setting-stop_timeout", "soon");
    await page.click("#settings-save");
    await until("the refusal", () => text("#settings-error"), (s) => /stop_timeout/.test(s) && /soon/.test(s));
    await page.fill("#setting-stop_timeout", "5s");
    await page.fill("#setting-max_sessions", "12");
    await page.click("#settings-save");
    await until("the history", () => text("#config-history"), (s) => /setting:max_sessions/.test(s));
    assert.match(await text("#audit-rows"), /PATCH \/api\/settings/);
    assert.match(await text("#audit-rows"), /web panel/);
    await shot("14-settings");
  });

  await t.test("SSE reconnects by itself after the server restarts, and says so meanwhile", async () => {
    const s = await api("POST", "/api/sessions", { scenario: "panel", overrides: { users: 2 } });
    await page.goto(`${base()}/#/sessions/${s.id}`);
    await until("live figures", () => text("#kpi-rps"), (v) => number(v) > 0);
    lab.server.kill("SIGKILL");
    await page.locator("#disconnected").waitFor({ state: "visible", timeout: 15_000 });
    assert.match(await text("#disconnected"), /Disconnected/);
    assert.match(await text("#connection"), /disconnected/);
    await shot("15-disconnected");
    await lab.startServer();
    await page.locator("#disconnected").waitFor({ state: "hidden", timeout: 30_000 });
    const before = number(await text("#kpi-requests"));
    await until("ticks again", () => text("#kpi-requests"), (v) => number(v) > before, 15_000);
    assert.match(await text("#connection"), /live/);
    await shot("16-reconnected");
    await api("POST", "/api/emergency-stop");
  });

  await t.test("usable on a phone", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base()}/#/`);
    await page.locator("#emergency-stop").waitFor();
    const box = await page.locator("#emergency-stop").boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `the emergency stop is on screen: ${JSON.stringify(box)}`);
    await shot("17-phone-overview");
  });

  await t.test("a session short of users for its arrival rate warns that arrivals are dropped", async () => {
    await page.setViewportSize({ width: 1366, height: 900 });
    const yaml = `name: few-users
target: http://127.0.0.1:${lab.ports.ec}
load:
  users: 1
  arrival_rate: 2000
  arrival_max_wait: 0s
  duration: 30s
endpoints:
  - name: products
    path: /api/products
`;
    const s = await api("POST", "/api/sessions", { scenario_yaml: yaml });
    await page.goto(`${base()}/#/sessions/${s.id}`);
    await until("the warning", () => text("#accuracy"), (w) => /arrivals dropped: not enough users for this rate; raise users/.test(w));
    assert.match(await text("#accuracy"), /asked 2[,.]?000 arrivals\/s/);
    await shot("18-dropped-arrivals");
    await api("POST", "/api/emergency-stop");
  });
});

test("a journey session shows its flows, their steps, and takes a flow's weight live", { timeout: 300_000 }, async (t) => {
  await page.setViewportSize({ width: 1366, height: 900 });
  const s = await api("POST", "/api/sessions", { scenario: "journey" });
  await page.goto(`${base()}/#/sessions/${s.id}`);
  const flowCell = (flow, k) => text(`#flow-rows tr[data-flow="${flow}"] td[data-k="${k}"]`);

  await t.test("the flows table fills from ticks with whole-run iterations and journey percentiles", async () => {
    await page.locator("#flow-table").waitFor();
    assert.match(await text("#flows-title"), /Flows \(journeys\)/);
    assert.match(await text("#flow-table thead"), /Journey p95, whole run/);
    await until("shop completes iterations", () => flowCell("shop", "completed"), (v) => number(v) > 0);
    await until("a journey p95", () => flowCell("shop", "p95"), (v) => /\d (ms|s)$/.test(v.trim()));
    assert.match(await flowCell("shop", "rate"), /iterations\/s$/);
    // `lost` never finds what it captures: every iteration fails at its first step, as `capture`.
    await until("lost fails iterations", () => flowCell("lost", "failed"), (v) => number(v) > 0);
    assert.equal((await flowCell("lost", "completed")).trim(), "0");
    assert.equal((await flowCell("lost", "p95")).trim(), "–", "no completed journey, no journey time");
    await until("capture failures on lost/list", () => text('tr[data-endpoint="lost/list"] td[data-k="failures"]'), (v) => /capture \d/.test(v));
  });

  await t.test("step rows say their flow and request, and have no weight of their own", async () => {
    const step = page.locator('tr[data-endpoint="shop/product"]');
    assert.match(await step.locator("th").innerText(), /GET \/api\/products\/\{\{ id \}\}/);
    assert.equal(await step.locator("input").count(), 0);
    assert.match(await step.innerText(), /step of shop/);
    assert.equal(await page.locator('tr[data-endpoint="products"] input.weight-input').count(), 1);
    assert.equal(await page.locator("#weight-shop").inputValue(), "2");
    assert.match(await text("#endpoints-title"), /flow steps/);
    await shot("18-journey-session");
  });

  await t.test("a flow's weight applied live stops its iterations", async () => {
    await page.fill("#weight-shop", "0");
    await page.press("#weight-shop", "Enter");
    await until("the live config", async () => (await api("GET", `/api/sessions/${s.id}`)).live?.config.weights.shop, (w) => w === 0);
    const share = () => text('tr[data-endpoint="shop/list"] td[data-k="share"]');
    await until("shop's steps' share falls to 0", share, (v) => v.trim() === "0 %", 30_000);
    const started = number(await flowCell("shop", "started"));
    await page.waitForTimeout(2000);
    assert.equal(number(await flowCell("shop", "started")), started, "no new shop iteration");
    assert.equal(await page.inputValue("#weight-shop"), "0");
    await shot("19-journey-weight-changed");
  });

  await t.test("ended, the flows come from the report, and the HTML report has them too", async () => {
    await page.click("#stop");
    await until("the end", () => text("#end-reason"), (v) => /stopped/.test(v), 30_000);
    const report = await api("GET", `/api/sessions/${s.id}/report.json`);
    const shop = report.flows.find((f) => f.name === "shop");
    assert.ok(shop && shop.completed > 0, JSON.stringify(report.flows));
    await page.reload();
    await until("the report's figures", () => flowCell("shop", "completed"), (v) => number(v) === shop.completed);
    assert.equal(number(await flowCell("shop", "started")), shop.started);
    assert.equal(await page.locator("#weight-shop").isDisabled(), true);
    await until("the weight in force at the end", () => page.inputValue("#weight-shop"), (v) => v === "0");
    assert.match(await text("#verdict-table"), /journey p95 < 10s for shop/);
    await shot("20-journey-ended");
    const html = await (await fetch(`${base()}/api/sessions/${s.id}/report`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
    assert.match(html, /Flows \(journeys\), whole run/);
    assert.match(html, /<td>shop<\/td><td class="n">\d+<\/td>/);
    assert.match(html, /capture [1-9]/);
  });
});
