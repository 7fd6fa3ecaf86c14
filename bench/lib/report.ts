/** Formatting helpers for benchmark output: percentiles and an aligned table. */

/** The p-th percentile (0..100) of `values` (sorted in place). */
export function percentile(values: Float64Array | number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = values instanceof Float64Array ? values.sort() : values.sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

/** Prints rows of [label, value, note] as an aligned table. */
export function printTable(title: string, rows: Array<[string, string, string?]>): void {
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const line = '-'.repeat(w0 + w1 + 7);
  console.log(`\n${title}\n${line}`);
  for (const [a, b, c] of rows)
    console.log(`${a.padEnd(w0)} | ${b.padStart(w1)} |${c ? ' ' + c : ''}`);
  console.log(line);
}

/** Bytes → "12.3 MB". */
export const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
/** Integer with thousands separators. */
export const int = (n: number): string => Math.round(n).toLocaleString('en-US');
