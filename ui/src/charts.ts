// Time charts (uPlot) over a bounded window, sized to their container.

import uPlot from "uplot";

import { SeriesWindow } from "./series";

export interface SeriesSpec {
  label: string;
  color: string;
  /** Dashed lines tell series apart without relying on colour. */
  dash?: number[];
  unit?: string;
}

/** Seconds a live chart keeps: an hour. */
export const WINDOW_SECONDS = 3600;

/** A chart of x = second since the start against some series. */
export class TimeChart {
  readonly window: SeriesWindow;
  readonly element: HTMLElement;
  private plot: uPlot | null = null;
  private readonly observer: ResizeObserver;
  private pending = false;

  constructor(title: string, series: SeriesSpec[], capacity = WINDOW_SECONDS) {
    this.window = new SeriesWindow(series.length, capacity);
    this.element = document.createElement("figure");
    this.element.className = "chart";
    this.element.setAttribute("role", "img");
    this.element.setAttribute("aria-label", `${title}: ${series.map((s) => s.label).join(", ")} per second`);
    const caption = document.createElement("figcaption");
    caption.textContent = title;
    this.element.appendChild(caption);
    const opts: uPlot.Options = {
      width: 400,
      height: 200,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false } },
      axes: [
        { label: "second", size: 36, stroke: "#555" },
        { size: 56, stroke: "#555", values: (_u, ticks) => ticks.map((t) => compact(t)) },
      ],
      series: [
        { label: "second" },
        ...series.map((s) => ({
          label: s.unit ? `${s.label} (${s.unit})` : s.label,
          stroke: s.color,
          width: 2,
          dash: s.dash,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v == null ? "–" : compact(v)),
        })),
      ],
    };
    this.plot = new uPlot(opts, this.window.data() as uPlot.AlignedData, this.element);
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(this.element);
  }

  /** Adds a point; the chart redraws at most once per animation frame. */
  push(x: number, values: number[]): void {
    if (!this.window.push(x, values)) return;
    // Which seconds the chart holds, for tests (set now: frames may wait while a tab is hidden).
    const xs = this.window.data()[0];
    this.element.dataset.seconds = `${xs[0]}-${xs[xs.length - 1]}`;
    this.redraw();
  }

  private redraw(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.plot?.setData(this.window.data() as uPlot.AlignedData);
    });
  }

  private resize(): void {
    const width = Math.max(240, this.element.clientWidth - 8);
    if (this.plot && Math.abs(this.plot.width - width) > 2) {
      this.plot.setSize({ width, height: 200 });
    }
  }

  destroy(): void {
    this.observer.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }
}

function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 10 || Number.isInteger(v)) return v.toFixed(0);
  return v.toFixed(1);
}

/** The three charts of a session, with the same series on the live and the history pages. */
export function sessionCharts(capacity = WINDOW_SECONDS): { rps: TimeChart; latency: TimeChart; users: TimeChart; destroy(): void; push(p: ChartPoint): void } {
  const rps = new TimeChart("Requests and failures", [
    { label: "requests/s", color: "#1f77b4" },
    { label: "failures/s", color: "#c0392b", dash: [6, 4] },
  ], capacity);
  const latency = new TimeChart("Latency", [
    { label: "p50", color: "#2e8b57", unit: "ms" },
    { label: "p95", color: "#d68910", dash: [6, 4], unit: "ms" },
    { label: "p99", color: "#8e44ad", dash: [2, 3], unit: "ms" },
  ], capacity);
  const users = new TimeChart("Users", [
    { label: "active", color: "#1f4e79" },
    { label: "target", color: "#7f8c8d", dash: [6, 4] },
  ], capacity);
  return {
    rps,
    latency,
    users,
    push(p) {
      rps.push(p.second, [p.rps, p.failures]);
      latency.push(p.second, [p.p50, p.p95, p.p99]);
      users.push(p.second, [p.active, p.target]);
    },
    destroy() {
      rps.destroy();
      latency.destroy();
      users.destroy();
    },
  };
}

export interface ChartPoint {
  second: number;
  rps: number;
  failures: number;
  p50: number;
  p95: number;
  p99: number;
  active: number;
  target: number;
}
