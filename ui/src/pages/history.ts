// History: every session with its totals, filtered by status and scenario; open one, download
// its reports, or pick two to compare.

import { get } from "../api";
import { fill, field, h } from "../dom";
import { isLive, type Session } from "../types";
import type { Page } from "./page";
import { SESSION_COLUMNS, sessionCells } from "./session_cells";

const STATUSES = ["", "running", "completed", "stopped", "aborted", "failed", "interrupted", "starting", "stopping"];

export const historyPage: Page = (root, params) => {
  const status = h("select", { id: "filter-status" }, STATUSES.map((s) => h("option", { value: s }, s || "any status")));
  const scenario = h("input", { id: "filter-scenario", placeholder: "any scenario", list: "scenario-names" });
  const names = h("datalist", { id: "scenario-names" });
  const rows = h("tbody", { id: "history-rows" });
  const compareButton = h("button", { type: "button", class: "btn btn-primary", id: "compare", disabled: true }, "Compare the two selected");
  const picked: string[] = [];
  status.value = params.get("status") ?? "";
  scenario.value = params.get("scenario") ?? "";

  fill(
    root,
    h("div", { class: "page-head" }, h("h1", {}, "History"), compareButton),
    h(
      "form",
      { class: "filters", role: "search", onsubmit: (e: Event) => (e.preventDefault(), void load()) },
      field("Status", status),
      field("Scenario", scenario),
      names,
      h("button", { type: "submit", class: "btn btn-light" }, "Filter"),
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table", id: "history-table" },
        h(
          "thead",
          {},
          h("tr", {}, ["Compare", ...SESSION_COLUMNS, "Reports"].map((c) => h("th", { scope: "col" }, c))),
        ),
        rows,
      ),
    ),
  );

  const syncCompare = () => {
    if (picked.length === 2) compareButton.removeAttribute("disabled");
    else compareButton.setAttribute("disabled", "");
    compareButton.textContent = picked.length === 2 ? "Compare the two selected" : `Select two sessions to compare (${picked.length}/2)`;
  };
  compareButton.addEventListener("click", () => {
    if (picked.length === 2) location.hash = `#/compare?a=${picked[0]}&b=${picked[1]}`;
  });

  const load = async () => {
    const q = new URLSearchParams({ limit: "500" });
    if (status.value) q.set("status", status.value);
    if (scenario.value.trim()) q.set("scenario", scenario.value.trim());
    history.replaceState(null, "", `#/history?${new URLSearchParams([...q].filter(([k]) => k !== "limit"))}`);
    const { sessions } = await get<{ sessions: Session[] }>(`/api/sessions?${q}`);
    picked.length = 0;
    syncCompare();
    fill(
      rows,
      sessions.length
        ? sessions.map((s) => {
            const box = h("input", { type: "checkbox", class: "pick", "aria-label": `Compare ${s.scenario} ${s.id}`, "data-session": s.id });
            box.addEventListener("change", () => {
              if (box.checked) {
                picked.push(s.id);
                if (picked.length > 2) {
                  const dropped = picked.shift();
                  const other = rows.querySelector<HTMLInputElement>(`input[data-session="${dropped}"]`);
                  if (other) other.checked = false;
                }
              } else {
                picked.splice(picked.indexOf(s.id), 1);
              }
              syncCompare();
            });
            const ended = !isLive(s.status);
            return h(
              "tr",
              { "data-session": s.id },
              h("td", {}, box),
              sessionCells(s),
              h(
                "td",
                { class: "reports" },
                ended
                  ? [
                      h("a", { href: `/api/sessions/${s.id}/report`, target: "_blank", rel: "noopener", "aria-label": `HTML report of ${s.id}` }, "HTML"),
                      " ",
                      h("a", { href: `/api/sessions/${s.id}/report.json`, download: `${s.id}-report.json`, "aria-label": `JSON report of ${s.id}` }, "JSON"),
                      " ",
                      h("a", { href: `/api/sessions/${s.id}/junit.xml`, download: `${s.id}-junit.xml`, "aria-label": `JUnit report of ${s.id}` }, "JUnit"),
                    ]
                  : "–",
              ),
            );
          })
        : h("tr", {}, h("td", { colspan: 9, class: "empty" }, "No session matches.")),
    );
    const known = [...new Set(sessions.map((s) => s.scenario))];
    fill(names, known.map((n) => h("option", { value: n })));
  };
  status.addEventListener("change", () => void load());
  syncCompare();
  void load().catch((e) => fill(rows, h("tr", {}, h("td", { colspan: 9, class: "form-error" }, `Could not list sessions: ${e.message}`))));
};
