// Measures the panel with sessions streaming: JS heap (after a GC), DOM nodes, event listeners,
// and main-thread busy time of an overview page and a live session page, every 30 s for a few
// minutes, with N sessions running on a real server. Prints figures; asserts nothing.
//
//   node e2e/memory.mjs [--minutes 10] [--sessions 10]

import { Lab } from "./lab.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const minutes = arg("minutes", 10);
const sessions = arg("sessions", 10);

const lab = await Lab.create();
try {
  await lab.startServer();
  const ids = [];
  for (let i = 0; i < sessions; i++) {
    ids.push((await lab.api("POST", "/api/sessions", { scenario: "panel", overrides: { users: 2, duration: `${minutes + 2}m` } })).id);
  }
  const browser = await lab.browser();
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  await context.addInitScript((t) => sessionStorage.setItem("load-tester.token", t), "e2e-token-0123456789abcdef");
  const pages = {};
  for (const [name, hash] of [
    ["overview", "#/"],
    ["session", `#/sessions/${ids[0]}`],
  ]) {
    const page = await context.newPage();
    await page.goto(`${lab.url}/${hash}`);
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    pages[name] = { page, cdp, last: null };
  }
  console.log(`${sessions} sessions streaming; sampling every 30 s for ${minutes} min\n`);
  console.log("| t (s) | page | JS heap after GC (MB) | DOM nodes | listeners | main thread busy (%) |");
  console.log("|---:|---|---:|---:|---:|---:|");
  const started = Date.now();
  for (;;) {
    const t = Math.round((Date.now() - started) / 1000);
    for (const [name, p] of Object.entries(pages)) {
      await p.cdp.send("HeapProfiler.collectGarbage");
      const { metrics } = await p.cdp.send("Performance.getMetrics");
      const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
      const busy = p.last ? (100 * (m.TaskDuration - p.last.TaskDuration)) / Math.max(1e-9, m.Timestamp - p.last.Timestamp) : NaN;
      p.last = m;
      console.log(
        `| ${t} | ${name} | ${(m.JSHeapUsedSize / 1048576).toFixed(2)} | ${m.Nodes} | ${m.JSEventListeners} | ${Number.isNaN(busy) ? "–" : busy.toFixed(1)} |`,
      );
    }
    if (Date.now() - started >= minutes * 60_000) break;
    await new Promise((r) => setTimeout(r, 30_000));
  }
} finally {
  await lab.close();
}
