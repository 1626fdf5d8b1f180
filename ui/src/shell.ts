// The frame around every page: navigation, the connection state, the token, and the
// emergency stop that is always one click (and one unmistakable confirmation) away.

import { call, checkToken, get, onUnauthorized, token } from "./api";
import { connectionElements } from "./connection";
import { fill, h, toast } from "./dom";
import type { Session } from "./types";

const PAGES: [string, string][] = [
  ["#/", "Overview"],
  ["#/new", "New session"],
  ["#/history", "History"],
  ["#/settings", "Settings"],
];

/** Builds the frame; answers the element pages render into. */
export function shell(): HTMLElement {
  const { indicator, banner } = connectionElements();
  const nav = h(
    "nav",
    { class: "nav", "aria-label": "Pages" },
    PAGES.map(([href, label]) => h("a", { href, class: "nav-link" }, label)),
  );
  const tokenButton = h("button", { class: "btn btn-light", id: "token-button", type: "button", onclick: () => askToken() });
  const renderToken = () => {
    tokenButton.textContent = token.get() ? "Token ✓" : "Enter token";
    tokenButton.setAttribute("aria-label", token.get() ? "API token entered; change it" : "Enter the API token");
  };
  token.onChange(renderToken);
  renderToken();
  const stopButton = h(
    "button",
    { class: "btn btn-emergency", id: "emergency-stop", type: "button", onclick: () => void emergencyStop() },
    "⚠ Emergency stop",
  );
  const header = h(
    "header",
    { class: "topbar" },
    h("a", { class: "brand", href: "#/" }, "load-tester"),
    nav,
    h("div", { class: "topbar-right" }, indicator, tokenButton, stopButton),
  );
  const main = h("main", { id: "page", tabindex: "-1" });
  const stopResult = h("div", { id: "emergency-result", class: "banner banner-stop", role: "alert", hidden: true });
  document.body.append(
    h("a", { class: "skip", href: "#page", onclick: (e: Event) => { e.preventDefault(); main.focus(); } }, "Skip to content"),
    header,
    banner,
    stopResult,
    main,
  );
  onUnauthorized((message) => {
    if (!dialogOpen) askToken(`The server refused the token: ${message}`);
  });
  highlight();
  window.addEventListener("hashchange", highlight);
  return main;
}

function highlight(): void {
  const route = location.hash.split("?")[0] || "#/";
  for (const a of document.querySelectorAll<HTMLAnchorElement>(".nav-link")) {
    const href = a.getAttribute("href") ?? "";
    const on = href === "#/" ? route === "#/" : route.startsWith(href);
    if (on) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

let dialogOpen = false;

/** Asks for the API token; keeps it for this browser session once the server accepts it. */
export function askToken(problem?: string): void {
  dialogOpen = true;
  const input = h("input", { type: "password", id: "token-input", autocomplete: "off", spellcheck: "false", required: true });
  const message = h("p", { class: "form-error", id: "token-error", role: "alert" }, problem ?? "");
  const dialog = h(
    "dialog",
    { class: "dialog", id: "token-dialog", "aria-labelledby": "token-title" },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: "token-title" }, "API token"),
      h(
        "p",
        {},
        "Starting, changing and stopping sessions needs the server's API token. `load-tester serve` prints it when it first starts (or set LT_API_TOKEN). It is kept for this browser tab only and sent as a header, never in a URL.",
      ),
      h("div", { class: "field" }, h("label", { for: "token-input" }, "Token"), input),
      message,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "btn btn-light", value: "cancel", id: "token-skip" }, "Continue read-only"),
        h("button", { type: "submit", class: "btn btn-primary", id: "token-save" }, "Use this token"),
      ),
    ),
  );
  const close = () => {
    dialogOpen = false;
    dialog.close();
    dialog.remove();
  };
  dialog.querySelector("#token-skip")?.addEventListener("click", () => {
    token.set(null);
    close();
  });
  dialog.addEventListener("cancel", () => {
    dialogOpen = false;
    dialog.remove();
  });
  dialog.querySelector("form")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const candidate = input.value.trim();
    if (!candidate) {
      message.textContent = "Enter the token first.";
      return;
    }
    message.textContent = "Checking…";
    const result = await checkToken(candidate);
    if (result.ok) {
      token.set(candidate);
      close();
      toast(`Token accepted; changes are recorded as “${result.actor}”.`);
    } else {
      message.textContent = `That token was not accepted: ${result.message}`;
      input.select();
    }
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  input.focus();
}

/** Asks, then kills every running session, and says how many. */
export async function emergencyStop(): Promise<void> {
  let running: Session[] = [];
  try {
    running = (await get<{ sessions: Session[] }>("/api/sessions?status=starting,running,stopping")).sessions;
  } catch {
    /* the confirmation still works; the count is unknown */
  }
  const confirmButton = h(
    "button",
    { type: "button", class: "btn btn-emergency btn-lg", id: "emergency-confirm" },
    `Kill ${running.length === 1 ? "the running session" : `all ${running.length} running sessions`} now`,
  );
  const cancel = h("button", { type: "button", class: "btn btn-light btn-lg", id: "emergency-cancel", autofocus: true }, "Cancel");
  const dialog = h(
    "dialog",
    { class: "dialog dialog-danger", id: "emergency-dialog", role: "alertdialog", "aria-labelledby": "emergency-title", "aria-describedby": "emergency-text" },
    h("h2", { id: "emergency-title" }, "⚠ Emergency stop"),
    h(
      "div",
      { id: "emergency-text" },
      h("p", {}, h("strong", {}, "Every running session's workers are killed at once (SIGKILL)."), " In-flight requests are cut off, no reports are written, and the sessions end as aborted."),
      running.length
        ? h("ul", {}, running.map((s) => h("li", {}, `${s.scenario} (${s.id}) — ${s.status}`)))
        : h("p", {}, "No session is running now, as far as the server said a moment ago."),
    ),
    h("div", { class: "actions" }, cancel, confirmButton),
  );
  document.body.appendChild(dialog);
  const done = () => {
    dialog.close();
    dialog.remove();
  };
  cancel.addEventListener("click", done);
  dialog.addEventListener("cancel", () => dialog.remove());
  confirmButton.addEventListener("click", async () => {
    confirmButton.setAttribute("disabled", "");
    confirmButton.textContent = "Stopping…";
    try {
      const r = await call<{ stopped: number; took_ms: number }>("POST", "/api/emergency-stop");
      done();
      const banner = document.getElementById("emergency-result");
      if (banner) {
        fill(
          banner,
          h("span", {}, `Emergency stop: ${r.stopped} ${r.stopped === 1 ? "session" : "sessions"} killed in ${Math.round(r.took_ms)} ms.`),
          h("button", { type: "button", class: "btn-close", "aria-label": "Dismiss", onclick: () => (banner.hidden = true) }, "×"),
        );
        banner.hidden = false;
      }
      window.dispatchEvent(new CustomEvent("lt:refresh"));
    } catch (e) {
      confirmButton.removeAttribute("disabled");
      confirmButton.textContent = "Try again";
      toast(`Emergency stop failed: ${e instanceof Error ? e.message : e}`, "error");
    }
  });
  dialog.showModal();
  cancel.focus();
}
