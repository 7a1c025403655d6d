/**
 * Plain text tables for the CLI: a header, a rule, padded columns, nothing else (console.table adds an
 * `(index)` column and box characters a shell pipeline has to strip). Cells longer than `maxWidth`
 * are cut with an ellipsis; the last column is never padded, so lines carry no trailing spaces.
 */
export function formatTable(rows: ReadonlyArray<Record<string, unknown>>, opts: { columns?: string[]; maxWidth?: number } = {}): string {
  const columns = opts.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return formatGrid([columns, ...rows.map((r) => columns.map((c) => cell(r[c])))], opts.maxWidth);
}

/** The same layout for rows already turned into strings (first row: the header). */
export function formatGrid(grid: ReadonlyArray<ReadonlyArray<string>>, maxWidth = 60): string {
  const cut = grid.map((row) => row.map((c) => (c.length > maxWidth ? `${c.slice(0, maxWidth - 1)}…` : c)));
  const widths = cut[0].map((_, i) => Math.max(...cut.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => row.map((c, j) => (j === row.length - 1 ? c : c.padEnd(widths[j]))).join('  ').trimEnd();
  return [line(cut[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cut.slice(1).map(line)].join('\n') + '\n';
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v.replace(/\s+/g, ' ') : typeof v === 'object' ? JSON.stringify(v) : String(v);
}
