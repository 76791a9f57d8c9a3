/**
 * Prometheus' text exposition format (0.0.4): metric families with `# HELP` and `# TYPE`, label
 * values escaped, histograms as cumulative `_bucket` series with `_sum` and `_count`.
 *
 * @example
 * ```ts
 * const text = prometheusText([{
 *   name: "randomuser_elt_scheduler_up",
 *   help: "1 while the scheduler loop runs.",
 *   type: "gauge",
 *   samples: [{ value: 1 }],
 * }]);
 * ```
 *
 * @module
 */

/** The `Content-Type` of the format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Label names and values of one series. */
export type Labels = Readonly<Record<string, string>>;

/** One series of a family: its labels, its value, and for histograms which part it is. */
export interface Sample {
  readonly labels?: Labels;
  readonly value: number;
  /** `_bucket`, `_sum` or `_count` of a histogram (a `_bucket` has an `le` label). */
  readonly suffix?: "_bucket" | "_sum" | "_count";
}

/** A metric family: one name, one help text, one type, its series. */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram";
  readonly samples: readonly Sample[];
}

/** One histogram's observations, as counts at or below each upper bound. */
export interface HistogramCounts {
  readonly labels: Labels;
  /** Cumulative counts by upper bound, in increasing order of bound (without +Inf). */
  readonly buckets: ReadonlyArray<readonly [le: number, count: number]>;
  readonly count: number;
  readonly sum: number;
}

/** The samples of a histogram family from its counts. */
export function histogramSamples(histograms: readonly HistogramCounts[]): Sample[] {
  return histograms.flatMap((histogram) => [
    ...histogram.buckets.map(([le, count]): Sample => ({
      labels: { ...histogram.labels, le: formatValue(le) },
      value: count,
      suffix: "_bucket",
    })),
    { labels: { ...histogram.labels, le: "+Inf" }, value: histogram.count, suffix: "_bucket" },
    { labels: histogram.labels, value: histogram.sum, suffix: "_sum" },
    { labels: histogram.labels, value: histogram.count, suffix: "_count" },
  ]);
}

/** The families as exposition text. */
export function prometheusText(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      lines.push(
        `${family.name}${sample.suffix ?? ""}${formatLabels(sample.labels)} ` +
          formatValue(sample.value),
      );
    }
  }
  return lines.join("\n") + "\n";
}

function formatLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return "";
  return `{${entries.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(",")}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (char) => char === "\n" ? "\\n" : `\\${char}`);
}

function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (char) => char === "\n" ? "\\n" : "\\\\");
}
