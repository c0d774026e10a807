/** Series arithmetic for the charts: smoothing, aligning runs, a log axis's domain, a sweep's history. */

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

/**
 * A sweep's optimisation history: the complete trials' numbers and values, in trial order, and the best
 * value up to each (the lowest when minimising, the highest when maximising).
 */
export function optimisationHistory(
  trials: { number: number; state: string; value?: number | null }[],
  direction: 'minimize' | 'maximize' = 'minimize'
): { numbers: number[]; values: number[]; best: number[] } {
  const done = trials
    .filter(t => t.state === 'complete' && t.value !== null && t.value !== undefined && isFinite(t.value))
    .sort((a, b) => a.number - b.number);
  const numbers: number[] = [];
  const values: number[] = [];
  const best: number[] = [];
  let current = NaN;
  for (const t of done) {
    const v = t.value as number;
    if (isNaN(current) || (direction === 'minimize' ? v < current : v > current)) {
      current = v;
    }
    numbers.push(t.number);
    values.push(v);
    best.push(current);
  }
  return { numbers, values, best };
}
