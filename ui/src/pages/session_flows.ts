// The session page's flows (journeys) table: each flow's iterations started, completed and
// failed and its journey percentiles, all over the whole run, and its live weight.

import { h, setText } from "../dom";
import { type FlowFigures, scenarioFlows } from "../flows";
import * as fmt from "../format";
import type { Session } from "../types";
import { type WeightInput, weightInput } from "./weight_input";

export interface FlowsView {
  /** The section; hidden while the session has no flows. */
  element: HTMLElement;
  /** Shows one flow's figures (adding its row if the scenario did not name it). */
  show(f: FlowFigures): void;
  /** Shows only the weight in force. */
  weight(name: string, weight: number): void;
  /** The session ended: weights can no longer change. */
  end(): void;
}

interface FlowRow {
  cells: Record<string, HTMLElement>;
  weight: WeightInput;
}

const COLUMNS = ["started", "completed", "failed", "rate", "p50", "p95", "p99"] as const;

export function flowsSection(session: Session, live: boolean): FlowsView {
  const rows = new Map<string, FlowRow>();
  const body = h("tbody", { id: "flow-rows" });
  const element = h(
    "section",
    { "aria-labelledby": "flows-title", id: "flows", hidden: true },
    h("h2", { id: "flows-title" }, "Flows (journeys)"),
    h(
      "p",
      { class: "muted small" },
      "Whole run. An iteration is one user's run through a flow's steps: completed when every step succeeded, failed when a step ended it. The journey is a completed iteration's duration, first step sent to last step answered, think time between steps included. Each step's requests are in the endpoint table as flow/step.",
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table", id: "flow-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Flow", "Iterations started", "Completed", "Failed", "Completed/s, whole run", "Journey p50, whole run", "Journey p95, whole run", "Journey p99, whole run", "Weight"].map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        body,
      ),
    ),
  );

  const row = (name: string): FlowRow => {
    let r = rows.get(name);
    if (r) return r;
    const cells: Record<string, HTMLElement> = {};
    for (const k of COLUMNS) cells[k] = h("td", { "data-k": k }, "–");
    const weight = weightInput(session.id, name, live);
    body.appendChild(h("tr", { "data-flow": name }, h("th", { scope: "row" }, name), COLUMNS.map((k) => cells[k]), h("td", {}, weight.element)));
    element.hidden = false;
    r = { cells, weight };
    rows.set(name, r);
    return r;
  };

  const weights = session.live?.config.weights ?? {};
  for (const f of scenarioFlows(session.config)) row(f.name).weight.input.value = String(weights[f.name] ?? f.weight);

  return {
    element,
    show(f: FlowFigures) {
      const r = row(f.name);
      setText(r.cells.started, fmt.count(f.started));
      setText(r.cells.completed, fmt.count(f.completed));
      setText(r.cells.failed, fmt.count(f.failed));
      setText(r.cells.rate, f.rate == null ? "–" : `${fmt.rate(f.rate)} iterations/s`);
      setText(r.cells.p50, fmt.ms(f.journey?.p50));
      setText(r.cells.p95, fmt.ms(f.journey?.p95));
      setText(r.cells.p99, fmt.ms(f.journey?.p99));
      if (f.weight != null) r.weight.show(f.weight);
    },
    weight(name: string, weight: number) {
      row(name).weight.show(weight);
    },
    end() {
      for (const r of rows.values()) r.weight.input.disabled = true;
    },
  };
}
