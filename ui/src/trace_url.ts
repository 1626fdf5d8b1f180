// Trace links: the server's `trace_url` setting is a template with `{trace_id}` (for example
// Grafana's Explore URL for a Tempo datasource); a trace id becomes a link to it.

export const TRACE_ID_PLACEHOLDER = "{trace_id}";

/** The link for `traceId`, or null when there is no usable template. */
export function traceLink(template: string | null | undefined, traceId: string): string | null {
  if (!template || !template.includes(TRACE_ID_PLACEHOLDER)) return null;
  if (!/^https?:\/\//i.test(template)) return null;
  return template.split(TRACE_ID_PLACEHOLDER).join(encodeURIComponent(traceId));
}
