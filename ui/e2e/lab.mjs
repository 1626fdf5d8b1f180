// What the panel's end-to-end test and its memory benchmark share: a real `load-tester serve`
// with its bundled targets on free ports, a scenario against them, headless Chromium, and the
// API with the token.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { chromium } from "playwright-core";

const here = import.meta.dirname;
export const BIN =
  process.env.LOAD_TESTER_BIN ??
  join(process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(here, "..", "..", "target"), "debug", "load-tester");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const TOKEN = "e2e-token-0123456789abcdef";
/** The server's `trace_url`: trace ids in the panel link to it. */
export const TRACE_URL = "http://127.0.0.1:3000/explore?orgId=1&trace={trace_id}";

/** A free port on loopback. */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * A data folder, free ports and scenario files against the bundled EC target: `panel.yaml`
 * (endpoints) and `journey.yaml` (flows beside an endpoint).
 */
export class Lab {
  static async create() {
    for (const [what, path, fix] of [
      ["load-tester binary", BIN, "run `cargo build -p load-tester` or set LOAD_TESTER_BIN"],
      ["Chromium", CHROMIUM, "install Debian's chromium or set CHROMIUM"],
    ]) {
      if (!existsSync(path)) throw new Error(`no ${what} at ${path}: ${fix}`);
    }
    const lab = new Lab();
    lab.dataDir = mkdtempSync(join(tmpdir(), "lt-panel-"));
    lab.scenariosDir = join(lab.dataDir, "scenarios");
    mkdirSync(lab.scenariosDir);
    lab.ports = { api: await freePort(), ec: await freePort(), distributed: await freePort(), todo: await freePort(), chaos: await freePort() };
    writeFileSync(
      join(lab.scenariosDir, "panel.yaml"),
      `name: panel
description: Catalogue reads and an error endpoint, for the panel's tests
target: http://127.0.0.1:${lab.ports.ec}
load:
  users: 4
  max_users: 8
  duration: 30m
  think_time: { min: 20ms, max: 60ms }
endpoints:
  - name: products
    path: /api/products
    weight: 3
  - name: product
    path: /api/products/1
    weight: 3
  - name: errors
    path: /performance/error
    weight: 1
protection:
  circuit_breaker: { consecutive_failures: 1000, open_for: 1s }
  max_errors_per_minute: off
user_ids: { from: 1, to: 50 }
`,
    );
    writeFileSync(
      join(lab.scenariosDir, "journey.yaml"),
      `name: journey
description: A shopping journey, a journey that loses its way, and a plain endpoint, for the panel's flow tests
target: http://127.0.0.1:${lab.ports.ec}
load:
  users: 4
  max_users: 8
  duration: 30m
  think_time: { min: 20ms, max: 60ms }
endpoints:
  - name: products
    path: /api/products
    weight: 1
flows:
  - name: shop
    weight: 2
    think_time: { min: 10ms, max: 30ms }
    steps:
      - name: list
        path: /api/products
        capture:
          id: { json: /products/2/id }
      - name: product
        path: /api/products/{{ id }}
        check: { body_contains: '"product"' }
  - name: lost
    weight: 1
    steps:
      - name: list
        path: /api/products
        capture:
          id: { json: /no/such/field }
      - name: product
        path: /api/products/{{ id }}
protection:
  circuit_breaker: { consecutive_failures: 1000, open_for: 1s }
  max_errors_per_minute: off
thresholds:
  - journey p95 < 10s for shop
`,
    );
    return lab;
  }

  get url() {
    return `http://127.0.0.1:${this.ports.api}`;
  }

  /** Starts `load-tester serve` (again after a kill: same port, same data); resolves once it listens. */
  startServer() {
    return new Promise((ok, fail) => {
      const child = spawn(BIN, ["serve", "--bind", `127.0.0.1:${this.ports.api}`, "--data-dir", this.dataDir, "--scenarios-dir", this.scenariosDir], {
        env: {
          ...process.env,
          LT_API_TOKEN: TOKEN,
          LT_EC_PORT: String(this.ports.ec),
          LT_DISTRIBUTED_PORT: String(this.ports.distributed),
          LT_TODO_PORT: String(this.ports.todo),
          LT_CHAOS_PORT: String(this.ports.chaos),
          LT_LOG: "info",
          LT_STOP_TIMEOUT: "5s",
          LT_TRACE_URL: TRACE_URL,
        },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let seen = "";
      const timer = setTimeout(() => fail(new Error(`the server did not start in 60 s:\n${seen}`)), 60_000);
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (chunk) => {
        if (seen.length < 100_000) seen += chunk;
        if (/control server on http/.test(seen)) {
          clearTimeout(timer);
          ok(child);
        }
      });
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        fail(new Error(`the server exited (${code ?? signal}):\n${seen}`));
      });
    }).then((child) => (this.server = child));
  }

  /** Calls the API with the token; answers the JSON or throws with the status and body. */
  async api(method, path, body) {
    const r = await fetch(`${this.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await r.json().catch(() => null);
    if (!r.ok) throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(json)}`);
    return json;
  }

  /** Headless Chromium with the flags a closed network needs. */
  async browser() {
    this.chromium = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    return this.chromium;
  }

  /** Stops every session, the server and the browser, and removes the data folder. */
  async close() {
    await this.chromium?.close().catch(() => {});
    if (this.server && this.server.exitCode === null && this.server.signalCode === null) {
      await this.api("POST", "/api/emergency-stop").catch(() => {});
      this.server.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 500));
      this.server.kill("SIGKILL");
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
