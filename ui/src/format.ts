// How figures are written on the page: one place, so every page says the same thing the same way.

/** A count with thousands separators: 12 345. */
export function count(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return "–";
  return Math.round(n).toLocaleString("en-US");
}

/** A rate per second with a sensible precision: 0.5, 12.3, 1 234. */
export function rate(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return "–";
  if (Math.abs(n) >= 100) return count(n);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2).replace(/\.?0+$/, "") || "0";
}

/** Milliseconds: 0.42 ms, 12.3 ms, 850 ms, 1.25 s, 2 min 5 s. */
export function ms(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return "–";
  if (n < 1) return `${n.toFixed(2)} ms`;
  if (n < 100) return `${n.toFixed(1)} ms`;
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(2)} s`;
  return duration(n / 1000);
}

/** A share as a percentage: 0 %, 0.05 %, 1.2 %, 100 %. */
export function percent(fraction: number | null | undefined): string {
  if (fraction == null || !Number.isFinite(fraction)) return "–";
  const p = fraction * 100;
  if (p === 0) return "0 %";
  if (Math.abs(p) < 0.1) return `${p.toFixed(2)} %`;
  if (Math.abs(p) < 10) return `${p.toFixed(1)} %`;
  return `${Math.round(p)} %`;
}

/** A size in bytes: 512 B, 3.4 KiB, 12.0 MiB, 1.50 GiB. */
export function bytes(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n) || n < 0) return "–";
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Seconds as 45 s, 3 min 05 s, 1 h 02 min. */
export function duration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** A time of day (local), with the date when it is not today. */
export function time(atMs: number | null | undefined, now: Date = new Date()): string {
  if (atMs == null || !Number.isFinite(atMs)) return "–";
  const d = new Date(atMs);
  const hms = d.toLocaleTimeString("en-GB", { hour12: false });
  if (d.toDateString() === now.toDateString()) return hms;
  const date = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  return `${date} ${hms}`;
}

/** A signed change: +12.3 %, −4 ms. */
export function signed(text: string, value: number): string {
  if (value > 0) return `+${text}`;
  if (value < 0) return `−${text.replace(/^-/, "")}`;
  return text;
}

/** A JSON value written short for a table cell. */
export function value(v: unknown): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/** Parses `250ms`, `1.5s`, `2m`, `1h` to milliseconds; `null` when it is not a duration. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  return n * unit;
}

/** A threshold's observed value in its unit (`ms`, `ratio`, `requests/s`, `requests`). */
export function observed(value: number | null | undefined, unit: string): string {
  if (value == null || !Number.isFinite(value)) return "no data";
  switch (unit) {
    case "ms":
      return ms(value);
    case "ratio":
      return percent(value);
    case "requests/s":
      return `${rate(value)} requests/s`;
    default:
      return `${count(value)} ${unit}`;
  }
}
