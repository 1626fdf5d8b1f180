// A live weight input for one weighted choice (an endpoint or a flow, by name): Enter or Apply
// PATCHes `{weights: {NAME: w}}`; ticks refresh it unless the user is typing in it.

import { call } from "../api";
import { h, toast } from "../dom";

export interface WeightInput {
  input: HTMLInputElement;
  /** The input and its Apply button, for a table cell. */
  element: HTMLElement;
  /** Shows the weight in force, unless the user is editing it. */
  show(weight: number): void;
}

export function weightInput(sessionId: string, name: string, live: boolean): WeightInput {
  const input = h("input", {
    type: "number",
    min: 0,
    step: "any",
    class: "weight-input",
    id: `weight-${name}`,
    "aria-label": `Weight of ${name}`,
    disabled: !live,
  });
  const apply = h("button", { type: "button", class: "btn btn-small", "aria-label": `Apply the weight of ${name}`, hidden: !live }, "Apply");
  const send = async () => {
    const w = Number(input.value);
    if (!input.value.trim() || !Number.isFinite(w) || w < 0) {
      toast(`Weight of ${name}: \`${input.value}\` is not 0 or more.`, "error");
      return;
    }
    try {
      await call("PATCH", `/api/sessions/${sessionId}`, { weights: { [name]: w } });
      input.dataset.dirty = "";
      toast(`Weight of ${name} is now ${w}.`);
    } catch (e) {
      toast(`Weight of ${name} not changed: ${e instanceof Error ? e.message : e}`, "error");
    }
  };
  apply.addEventListener("click", () => void send());
  input.addEventListener("input", () => (input.dataset.dirty = "1"));
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") void send();
  });
  return {
    input,
    element: h("div", { class: "inline" }, input, apply),
    show(weight: number) {
      if (document.activeElement !== input && !input.dataset.dirty) input.value = String(weight);
    },
  };
}
