// Every call to the control server goes through here: the token (kept for the browser session
// only, sent as a header, never in a URL or a log) and the one error shape.

import type { Diagnostic } from "./types";

const TOKEN_KEY = "load-tester.token";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The scenario diagnostics of a 422 `invalid_scenario`, if that is what it is. */
  get diagnostics(): Diagnostic[] {
    const d = this.details as { diagnostics?: Diagnostic[] } | null;
    return d?.diagnostics ?? [];
  }
}

type Listener = () => void;
const unauthorizedListeners: ((message: string) => void)[] = [];
const tokenListeners: Listener[] = [];

export const token = {
  get(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(value: string | null): void {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
    tokenListeners.forEach((l) => l());
  },
  onChange(l: Listener): void {
    tokenListeners.push(l);
  },
};

/** Called when the server refuses the token (or asks for one), from a call or a stream. */
export function onUnauthorized(l: (message: string) => void): void {
  unauthorizedListeners.push(l);
}

export function reportUnauthorized(message: string): void {
  unauthorizedListeners.forEach((l) => l(message));
}

export function authHeaders(): Record<string, string> {
  const t = token.get();
  return t ? { Authorization: `Bearer ${t}`, "X-Actor": "web panel" } : {};
}

/** Calls the API; answers the JSON body or throws an [`ApiError`]. */
export async function call<T>(method: string, path: string, body?: unknown, raw?: string): Promise<T> {
  const headers: Record<string, string> = { ...authHeaders() };
  let payload: string | undefined;
  if (raw !== undefined) {
    headers["Content-Type"] = "text/plain; charset=utf-8";
    payload = raw;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: payload, cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, "unreachable", `the server did not answer (${e instanceof Error ? e.message : e})`, null);
  }
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const e = (json ?? {}) as { code?: string; message?: string; details?: unknown };
    const error = new ApiError(
      response.status,
      e.code ?? "http_error",
      e.message ?? `${method} ${path} answered ${response.status}`,
      e.details ?? null,
    );
    if (response.status === 401) reportUnauthorized(error.message);
    throw error;
  }
  return json as T;
}

export const get = <T>(path: string) => call<T>("GET", path);

/** Checks a token against the server without keeping it: the caller's name, or why not. */
export async function checkToken(candidate: string): Promise<{ ok: true; actor: string } | { ok: false; message: string }> {
  try {
    const response = await fetch("/api/token", {
      headers: { Authorization: `Bearer ${candidate}`, "X-Actor": "web panel" },
      cache: "no-store",
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) return { ok: true, actor: body.actor ?? "web panel" };
    return { ok: false, message: body.message ?? `the server answered ${response.status}` };
  } catch (e) {
    return { ok: false, message: `the server did not answer (${e instanceof Error ? e.message : e})` };
  }
}
