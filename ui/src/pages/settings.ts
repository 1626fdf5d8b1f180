// Settings: what the server runs with, the ones it can change now, and who changed what.

import { ApiError, call, get } from "../api";
import { fill, field, h, toast } from "../dom";
import * as fmt from "../format";
import type { AuditEntry, ConfigChange } from "../types";
import type { Page } from "./page";

type Settings = Record<string, unknown> & { changeable: string[] };

const HINTS: Record<string, string> = {
  max_users_per_session: "Users per session, at most.",
  max_sessions: "Sessions running at once, at most.",
  max_arrival_rate: "Open-model requests/s per session, at most.",
  retention: "Per-second data of sessions that ended longer ago is pruned (e.g. 720h).",
  stop_timeout: "A graceful stop waits this long for in-flight requests, then kills (e.g. 10s).",
  rate_limit: "API requests per second per client; 0 turns the limit off.",
};

export const settingsPage: Page = (root) => {
  const form = h("form", { id: "settings-form", class: "card" });
  const fixed = h("tbody", { id: "fixed-settings" });
  const changes = h("tbody", { id: "config-history" });
  const audit = h("tbody", { id: "audit-rows" });
  fill(
    root,
    h("div", { class: "page-head" }, h("h1", {}, "Settings")),
    h(
      "section",
      { "aria-labelledby": "runtime-title" },
      h("h2", { id: "runtime-title" }, "Changeable now"),
      h("p", { class: "muted" }, "Applies at once and lasts until the server stops; to keep a value, put it in load-tester.toml or an LT_* variable."),
      form,
    ),
    h(
      "section",
      { "aria-labelledby": "fixed-title" },
      h("h2", { id: "fixed-title" }, "Set at start"),
      h("div", { class: "table-wrap" }, h("table", { class: "table" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Setting"), h("th", { scope: "col" }, "Value"))), fixed)),
    ),
    h(
      "section",
      { "aria-labelledby": "history-title" },
      h("h2", { id: "history-title" }, "Configuration history"),
      h(
        "div",
        { class: "table-wrap" },
        h("table", { class: "table" }, h("thead", {}, h("tr", {}, ["When", "Who", "Session", "What", "Old", "New"].map((c) => h("th", { scope: "col" }, c)))), changes),
      ),
    ),
    h(
      "section",
      { "aria-labelledby": "audit-title" },
      h("h2", { id: "audit-title" }, "Audit log"),
      h(
        "div",
        { class: "table-wrap" },
        h("table", { class: "table" }, h("thead", {}, h("tr", {}, ["When", "Who", "Client", "Action", "Result", "Status"].map((c) => h("th", { scope: "col" }, c)))), audit),
      ),
    ),
  );

  const load = async () => {
    const s = await get<Settings>("/api/settings");
    const inputs = new Map<string, HTMLInputElement>();
    fill(
      form,
      h(
        "div",
        { class: "settings-grid" },
        s.changeable.map((key) => {
          const input = h("input", { id: `setting-${key}`, name: key, value: fmt.value(s[key]), "data-original": fmt.value(s[key]) });
          inputs.set(key, input);
          return field(key, input, HINTS[key]);
        }),
      ),
      h("div", { class: "form-error", id: "settings-error", role: "alert" }),
      h("button", { type: "submit", class: "btn btn-primary", id: "settings-save" }, "Apply changes"),
    );
    form.onsubmit = async (e) => {
      e.preventDefault();
      const patch: Record<string, unknown> = {};
      for (const [key, input] of inputs) {
        if (input.value === input.dataset.original) continue;
        const numeric = typeof s[key] === "number";
        patch[key] = numeric && input.value.trim() !== "" && Number.isFinite(Number(input.value)) ? Number(input.value) : input.value;
      }
      const error = form.querySelector("#settings-error");
      if (error) error.textContent = "";
      if (!Object.keys(patch).length) {
        toast("Nothing changed.");
        return;
      }
      try {
        const r = await call<{ changes: ConfigChange[] }>("PATCH", "/api/settings", patch);
        toast(`Applied: ${r.changes.map((c) => `${c.field.replace("setting:", "")} ${fmt.value(c.old)} → ${fmt.value(c.new)}`).join(", ") || "no change"}.`);
        await load();
      } catch (err) {
        if (error) error.textContent = err instanceof ApiError ? `Not applied: ${err.message}` : `Not applied: ${err}`;
        const bad = err instanceof ApiError ? (err.details as { field?: string } | null)?.field : undefined;
        if (bad) inputs.get(bad)?.focus();
      }
    };
    fill(
      fixed,
      Object.entries(s)
        .filter(([k]) => k !== "changeable" && !s.changeable.includes(k))
        .map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, h("code", {}, Array.isArray(v) ? v.join(", ") : fmt.value(v))))),
    );
    const [{ changes: list }, { entries }] = await Promise.all([
      get<{ changes: ConfigChange[] }>("/api/config/history?limit=200"),
      get<{ entries: AuditEntry[] }>("/api/audit?limit=200"),
    ]);
    fill(
      changes,
      list.length
        ? list.map((c) =>
            h(
              "tr",
              {},
              h("td", {}, fmt.time(c.at_ms)),
              h("td", {}, c.who),
              h("td", {}, c.session_id ? h("a", { href: `#/sessions/${c.session_id}` }, c.session_id) : "server"),
              h("td", {}, c.field),
              h("td", {}, h("code", {}, fmt.value(c.old))),
              h("td", {}, h("code", {}, fmt.value(c.new))),
            ),
          )
        : h("tr", {}, h("td", { colspan: 6, class: "empty" }, "Nothing was changed yet.")),
    );
    fill(
      audit,
      entries.map((a) =>
        h(
          "tr",
          { class: a.status >= 400 ? "refused" : "" },
          h("td", {}, fmt.time(a.at_ms)),
          h("td", {}, a.who),
          h("td", {}, a.client),
          h("td", {}, h("code", {}, a.action)),
          h("td", {}, a.result === "ok" ? "ok" : `✕ ${a.result}`),
          h("td", {}, String(a.status)),
        ),
      ),
    );
  };
  void load().catch((e) => fill(form, h("p", { class: "form-error" }, `Could not load the settings: ${e.message}`)));
};
