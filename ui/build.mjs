// Builds the panel into dist/ (committed; the load-tester binary embeds it), or with --tests
// the unit tests into .test-build/ for `node --test`. Output is deterministic: the same
// sources give the same bytes, so CI can rebuild and compare.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const here = import.meta.dirname;
const tests = process.argv.includes("--tests");

if (tests) {
  const out = join(here, ".test-build", "unit");
  rmSync(out, { recursive: true, force: true });
  const entries = readdirSync(join(here, "test"))
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => join(here, "test", f));
  await build({
    entryPoints: entries,
    outdir: out,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outExtension: { ".js": ".mjs" },
    logLevel: "warning",
  });
} else {
  const dist = join(here, "dist");
  mkdirSync(dist, { recursive: true });
  await build({
    entryPoints: { app: join(here, "src", "main.ts") },
    outdir: dist,
    bundle: true,
    minify: true,
    format: "iife",
    target: "es2022",
    legalComments: "eof",
    charset: "utf8",
    logLevel: "warning",
  });
  for (const file of ["index.html", "favicon.svg"]) {
    copyFileSync(join(here, "public", file), join(dist, file));
  }
}
