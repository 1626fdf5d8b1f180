// The panel's entry: the frame, the token, and a hash router (#/, #/new, #/sessions/ID,
// #/history, #/compare?a=&b=, #/settings) so that every view has a link and Back works.

import "uplot/dist/uPlot.min.css";
import "./style.css";

import { checkToken, token } from "./api";
import { fill, h } from "./dom";
import { comparePage } from "./pages/compare";
import { historyPage } from "./pages/history";
import { newSession } from "./pages/new_session";
import { overview } from "./pages/overview";
import type { Page } from "./pages/page";
import { sessionPage } from "./pages/session";
import { settingsPage } from "./pages/settings";
import { askToken, shell } from "./shell";

const ROUTES: Record<string, Page> = {
  "": overview,
  new: newSession,
  sessions: sessionPage,
  history: historyPage,
  compare: comparePage,
  settings: settingsPage,
};

const TITLES: Record<string, string> = {
  "": "Overview",
  new: "New session",
  sessions: "Session",
  history: "History",
  compare: "Compare",
  settings: "Settings",
};

function start(): void {
  const main = shell();
  let cleanup: (() => void) | void;
  const route = () => {
    const [pathPart, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
    const path = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
    const page = ROUTES[path[0] ?? ""];
    if (cleanup) cleanup();
    cleanup = undefined;
    document.title = `${TITLES[path[0] ?? ""] ?? "Not found"} · load-tester`;
    if (!page) {
      fill(main, h("h1", {}, "Not found"), h("p", {}, "No page here. ", h("a", { href: "#/" }, "Overview")));
      return;
    }
    cleanup = page(main, new URLSearchParams(query), path);
  };
  window.addEventListener("hashchange", route);
  route();
  // Ask for the token once per browser session; a stored one is checked again.
  const stored = token.get();
  if (!stored) askToken();
  else
    void checkToken(stored).then((r) => {
      if (!r.ok) askToken(`The saved token was not accepted: ${r.message}`);
    });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
