// A trace id as the panel shows it: a copy button, and a link to the trace when the server's
// `trace_url` setting is set (read once per page load from GET /api/settings).

import { get } from "../api";
import { copy, h } from "../dom";
import { traceLink } from "../trace_url";

let template: Promise<string | null> | null = null;

/** The server's `trace_url` (null when unset or unreadable); fetched once. */
export function traceUrlTemplate(): Promise<string | null> {
  template ??= get<{ trace_url?: string | null }>("/api/settings")
    .then((s) => s.trace_url ?? null)
    .catch(() => {
      template = null; // try again on the next page
      return null;
    });
  return template;
}

/** The trace id's element: a link when `linkTemplate` gives one, and always the copy button. */
export function traceId(traceId: string, linkTemplate: string | null): HTMLElement {
  const copyButton = h(
    "button",
    { type: "button", class: "trace", title: "Copy the trace id", "aria-label": `Copy trace id ${traceId}`, onclick: () => void copy(traceId) },
    h("code", {}, traceId.slice(0, 16)),
    h("span", { class: "copy-label" }, " copy"),
  );
  const href = traceLink(linkTemplate, traceId);
  if (!href) return copyButton;
  return h(
    "span",
    { class: "trace-id" },
    h("a", { class: "trace-link", href, target: "_blank", rel: "noopener", title: `Open trace ${traceId}`, "data-trace-id": traceId }, "trace ↗"),
    copyButton,
  );
}
