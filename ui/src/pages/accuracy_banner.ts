// How true a session's figures are, above its KPIs: open-model arrivals dropped for want of
// users (a visible warning with the asked and achieved rates), latency corrected for coordinated
// omission, and the load generator's own CPU, memory and warnings. Hidden while all is well.

import { fill, h } from "../dom";
import * as fmt from "../format";
import type { Report, SecondRow, Tick } from "../types";

/** The banner and what fills it, live from ticks or from a past session's report and seconds. */
export function accuracyBanner(): {
  element: HTMLElement;
  showTick: (t: Tick) => void;
  showPast: (summary: Report | null | undefined, seconds: SecondRow[]) => void;
} {
  const warnings = h("div", { id: "accuracy-warnings" });
  const notes = h("p", { class: "muted small", id: "accuracy-notes" });
  const element = h("div", { class: "banner banner-warn banner-accuracy", id: "accuracy", role: "status", hidden: true }, warnings, notes);
  const show = (lines: string[], extra: string[]) => {
    fill(warnings, ...lines.map((l) => h("div", { class: "accuracy-warning" }, l)));
    fill(notes, extra.join(" · "));
    element.hidden = lines.length === 0 && extra.length === 0;
    element.classList.toggle("banner-warn", lines.length > 0);
  };
  const dropped = (n: number) => `${fmt.count(n)} arrivals dropped: not enough users for this rate; raise users`;

  const showTick = (t: Tick) => {
    const lines: string[] = [];
    const extra: string[] = [];
    if ((t.total_dropped ?? 0) > 0) lines.push(dropped(t.total_dropped ?? 0));
    const g = t.generator;
    if (g?.saturated) lines.push(g.saturated);
    if (g?.limited) lines.push(g.limited);
    if (t.config.arrival_rate != null) extra.push(`asked ${fmt.rate(t.config.arrival_rate)} arrivals/s, achieved ${fmt.rate(t.rps)} req/s`);
    if (t.schedule_lag) extra.push(`schedule lag p95 ${fmt.ms(t.schedule_lag.p95)}`);
    if (t.total_corrected_latency) extra.push(`corrected p95 ${fmt.ms(t.total_corrected_latency.p95)}, p99 ${fmt.ms(t.total_corrected_latency.p99)} (coordinated omission)`);
    if (g && (lines.length > 0 || g.cpu_percent >= 50)) extra.push(`generator CPU ${g.cpu_percent.toFixed(0)}% of one core (${g.cores} cores), memory ${fmt.bytes(g.memory_bytes)}`);
    show(lines, extra);
  };

  const showPast = (summary: Report | null | undefined, seconds: SecondRow[]) => {
    const lines: string[] = [];
    const extra: string[] = [];
    const totalDropped = summary?.dropped ?? seconds[seconds.length - 1]?.accuracy?.total_dropped ?? 0;
    if (totalDropped > 0) lines.push(dropped(totalDropped));
    for (const w of summary?.generator?.warnings ?? []) lines.push(w);
    if (!summary?.generator) {
      const seen = new Set<string>();
      for (const s of seconds) for (const w of [s.accuracy?.saturated, s.accuracy?.limited]) if (w && !seen.has(w)) seen.add(w), lines.push(w);
    }
    if (summary?.asked_rate != null) extra.push(`asked ${fmt.rate(summary.asked_rate)} arrivals/s, achieved ${fmt.rate(summary.rps)} req/s`);
    if (summary?.latency_corrected_ms) extra.push(`corrected p95 ${fmt.ms(summary.latency_corrected_ms.p95)}, p99 ${fmt.ms(summary.latency_corrected_ms.p99)} (${summary.latency_correction ?? "coordinated omission"})`);
    show(lines, extra);
  };

  return { element, showTick, showPast };
}
