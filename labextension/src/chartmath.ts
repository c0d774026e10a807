/** Series arithmetic for the metrics chart: smoothing, aligning several runs, a log axis's domain. */

/**
 * TensorBoard-style exponential moving average with debiasing; ``weight`` 0 leaves the values. A null (the
 * server's NaN or infinity) stays a gap and leaves the average as it was.
 */
export function smooth(values: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) {
    return values.slice();
  }
  const out: (number | null)[] = [];
  let last = 0;
  let n = 0;
  for (const v of values) {
    if (v === null || !isFinite(v)) {
      out.push(v);
      continue;
    }
    last = last * weight + (1 - weight) * v;
    n++;
    out.push(last / (1 - Math.pow(weight, n)));
  }
  return out;
}

/**
 * Several series (one per run) on one x axis: the sorted union of their steps, each series' value at a
 * step or null where it has none (uPlot's aligned data).
 */
export function align(series: { steps: number[]; values: (number | null)[] }[]): (number | null)[][] {
  const xs = Array.from(new Set(series.flatMap(s => s.steps))).sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const rows: (number | null)[][] = [xs];
  for (const s of series) {
    const row: (number | null)[] = new Array(xs.length).fill(null);
    s.steps.forEach((step, i) => {
      row[index.get(step)!] = s.values[i];
    });
    rows.push(row);
  }
  return rows;
}

/** Values a log scale can draw: non-positive ones become null. */
export function forLogScale(values: (number | null)[]): (number | null)[] {
  return values.map(v => (v !== null && v > 0 ? v : null));
}
