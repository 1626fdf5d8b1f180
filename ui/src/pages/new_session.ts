// New session: a scenario from the server's folder or YAML typed here, checked as you type with
// the same diagnostics `load-tester validate` prints, overrides, and start.

import { ApiError, call, get } from "../api";
import { fill, field, h, toast } from "../dom";
import { parseDuration } from "../format";
import type { Diagnostic, ScenarioFile, Session } from "../types";
import type { Page } from "./page";

interface Validated {
  valid: true;
  name: string;
  target: string;
  users: number;
  duration: string;
  endpoints: { name: string; weight: number }[];
}

export const newSession: Page = (root, params) => {
  const picker = h("select", { id: "scenario-select" });
  const editor = h("textarea", {
    id: "yaml",
    class: "code",
    rows: 22,
    spellcheck: "false",
    autocapitalize: "off",
    "aria-describedby": "diagnostics",
    wrap: "off",
  });
  const gutter = h("div", { class: "gutter", "aria-hidden": "true" });
  const diagnostics = h("div", { id: "diagnostics", class: "diagnostics", role: "status", "aria-live": "polite" });
  const target = h("input", { id: "o-target", type: "url", placeholder: "from the scenario" });
  const users = h("input", { id: "o-users", type: "number", min: 1, step: 1, placeholder: "from the scenario" });
  const duration = h("input", { id: "o-duration", placeholder: "e.g. 2m" });
  const thinkMin = h("input", { id: "o-think-min", placeholder: "e.g. 0s" });
  const thinkMax = h("input", { id: "o-think-max", placeholder: "e.g. 1s" });
  const weights = h("div", { id: "o-weights", class: "weights-grid" });
  const startButton = h("button", { type: "submit", class: "btn btn-primary btn-lg", id: "start" }, "▶ Start session");
  const formError = h("div", { class: "form-error", id: "start-error", role: "alert" });
  let files: ScenarioFile[] = [];
  let chosen: ScenarioFile | null = null;
  let endpoints: { name: string; weight: number }[] = [];

  fill(
    root,
    h("div", { class: "page-head" }, h("h1", {}, "New session")),
    h(
      "form",
      { id: "new-session", class: "grid-2", novalidate: true },
      h(
        "section",
        { "aria-labelledby": "scenario-title" },
        h("h2", { id: "scenario-title" }, "Scenario"),
        field("Scenario file", picker, "A file from the server's scenarios folder, or your own YAML below."),
        h("label", { for: "yaml" }, "YAML"),
        h("div", { class: "editor" }, gutter, editor),
        diagnostics,
      ),
      h(
        "section",
        { "aria-labelledby": "overrides-title" },
        h("h2", { id: "overrides-title" }, "Overrides"),
        h("p", { class: "muted" }, "Empty fields keep the scenario's values."),
        field("Target URL", target, "Must be on the server's allow-list."),
        field("Users", users),
        field("Duration", duration, "ms, s, m or h, e.g. 90s or 2m."),
        h("div", { class: "row" }, field("Think time min", thinkMin), field("Think time max", thinkMax)),
        h("fieldset", {}, h("legend", {}, "Endpoint weights"), weights),
        formError,
        startButton,
      ),
    ),
  );

  const renderGutter = (problems: Diagnostic[]) => {
    const lines = editor.value.split("\n").length;
    const bad = new Set(problems.map((d) => d.line));
    const out: HTMLElement[] = [];
    for (let i = 1; i <= lines; i++) out.push(h("div", { class: bad.has(i) ? "gl bad" : "gl" }, bad.has(i) ? `⚠ ${i}` : String(i)));
    fill(gutter, out);
    gutter.scrollTop = editor.scrollTop;
  };
  editor.addEventListener("scroll", () => (gutter.scrollTop = editor.scrollTop));

  const goTo = (d: Diagnostic) => {
    const lines = editor.value.split("\n");
    let offset = 0;
    for (let i = 0; i < d.line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    offset += Math.max(0, d.column - 1);
    editor.focus();
    editor.setSelectionRange(offset, offset);
    const lineHeight = editor.scrollHeight / Math.max(1, lines.length);
    editor.scrollTop = Math.max(0, (d.line - 3) * lineHeight);
  };

  const renderWeights = () => {
    fill(
      weights,
      endpoints.length
        ? endpoints.map((e) => {
            const input = h("input", { type: "number", min: 0, step: "any", id: `w-${e.name}`, "data-endpoint": e.name, placeholder: String(e.weight) });
            return field(e.name, input);
          })
        : h("p", { class: "muted" }, "The endpoints and flows appear here once the YAML is valid."),
    );
  };

  let seq = 0;
  const validate = async () => {
    const mine = ++seq;
    const text = editor.value;
    if (!text.trim()) {
      fill(diagnostics, h("p", { class: "muted" }, "Paste or write a scenario, or pick a file."));
      renderGutter([]);
      return;
    }
    try {
      const v = await call<Validated>("POST", "/api/scenarios/validate", undefined, text);
      if (mine !== seq) return;
      fill(diagnostics, h("p", { class: "ok" }, `✓ Valid: “${v.name}”, ${v.endpoints.length} weighted ${v.endpoints.length === 1 ? "choice" : "choices"} (endpoints and flows), ${v.users} users for ${v.duration} against ${v.target}.`));
      renderGutter([]);
      const keep = new Map([...weights.querySelectorAll<HTMLInputElement>("input")].map((i) => [i.dataset.endpoint, i.value]));
      endpoints = v.endpoints;
      renderWeights();
      for (const input of weights.querySelectorAll<HTMLInputElement>("input")) input.value = keep.get(input.dataset.endpoint) ?? "";
    } catch (e) {
      if (mine !== seq) return;
      if (e instanceof ApiError && e.diagnostics.length) {
        const list = e.diagnostics;
        fill(
          diagnostics,
          h("p", { class: "form-error" }, `✕ ${list.length} ${list.length === 1 ? "problem" : "problems"}:`),
          h(
            "ul",
            { class: "diag-list" },
            list.map((d) =>
              h(
                "li",
                {},
                h("button", { type: "button", class: "link", onclick: () => goTo(d) }, `line ${d.line}, column ${d.column}`),
                ` ${d.path ? `${d.path}: ` : ""}${d.message}`,
              ),
            ),
          ),
        );
        renderGutter(list);
      } else {
        fill(diagnostics, h("p", { class: "form-error" }, `Could not validate: ${e instanceof Error ? e.message : e}`));
      }
    }
  };

  let timer: ReturnType<typeof setTimeout> | null = null;
  editor.addEventListener("input", () => {
    renderGutter([]);
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void validate(), 350);
  });

  picker.addEventListener("change", () => {
    chosen = files.find((f) => f.file === picker.value) ?? null;
    editor.value = chosen?.yaml ?? "";
    void validate();
  });

  const overrides = (): { value?: Record<string, unknown>; problem?: string } => {
    const o: Record<string, unknown> = {};
    if (target.value.trim()) o.target = target.value.trim();
    if (users.value.trim()) {
      const n = Number(users.value);
      if (!Number.isInteger(n) || n < 1) return { problem: `Users: \`${users.value}\` is not a whole number of at least 1.` };
      o.users = n;
    }
    if (duration.value.trim()) {
      if (parseDuration(duration.value) == null) return { problem: `Duration: \`${duration.value}\` is not a duration such as 90s or 2m.` };
      o.duration = duration.value.trim();
    }
    const min = thinkMin.value.trim();
    const max = thinkMax.value.trim();
    if (min || max) {
      if (!min || !max) return { problem: "Think time: give both min and max (or neither)." };
      for (const [name, v] of [["min", min], ["max", max]]) {
        if (parseDuration(v) == null) return { problem: `Think time ${name}: \`${v}\` is not a duration.` };
      }
      o.think_time = { min, max };
    }
    const w: Record<string, number> = {};
    for (const input of weights.querySelectorAll<HTMLInputElement>("input")) {
      if (!input.value.trim()) continue;
      const n = Number(input.value);
      if (!Number.isFinite(n) || n < 0) return { problem: `Weight of ${input.dataset.endpoint}: \`${input.value}\` is not 0 or more.` };
      w[input.dataset.endpoint ?? ""] = n;
    }
    if (Object.keys(w).length) o.weights = w;
    return { value: o };
  };

  root.querySelector("form")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    formError.textContent = "";
    const o = overrides();
    if (o.problem) {
      formError.textContent = o.problem;
      return;
    }
    const fromFile = chosen && editor.value === chosen.yaml;
    const body = fromFile ? { scenario: chosen?.file, overrides: o.value } : { scenario_yaml: editor.value, overrides: o.value };
    startButton.setAttribute("disabled", "");
    try {
      const s = await call<Session>("POST", "/api/sessions", body);
      toast(`Started ${s.scenario} (${s.id}).`);
      location.hash = `#/sessions/${s.id}`;
    } catch (err) {
      if (err instanceof ApiError && err.diagnostics.length) {
        void validate();
        formError.textContent = `The scenario has problems: ${err.message}. See the list under the YAML.`;
      } else {
        formError.textContent = `Not started: ${err instanceof Error ? err.message : err}`;
      }
    } finally {
      startButton.removeAttribute("disabled");
    }
  });

  renderWeights();
  void get<{ scenarios: ScenarioFile[] }>("/api/scenarios")
    .then(({ scenarios }) => {
      files = scenarios;
      fill(
        picker,
        h("option", { value: "" }, "— your own YAML —"),
        scenarios.map((s) => h("option", { value: s.file }, s.valid ? `${s.file} — ${s.description ?? s.name ?? ""}`.replace(/ — $/, "") : `${s.file} (has problems)`)),
      );
      const wanted = params.get("scenario");
      const first = scenarios.find((s) => s.file === wanted || s.name === wanted) ?? scenarios.find((s) => s.valid);
      if (first) {
        picker.value = first.file;
        picker.dispatchEvent(new Event("change"));
      }
    })
    .catch((e) => fill(diagnostics, h("p", { class: "form-error" }, `Could not list scenarios: ${e.message}`)));
  return () => {
    if (timer) clearTimeout(timer);
  };
};
