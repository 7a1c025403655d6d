import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTable } from '../../cli/table.js';

/**
 * The CLI's tables (cli/table.ts) against any rows: every cell starts at its column's offset, one line
 * per row plus header and rule, no trailing spaces, and a cut cell keeps its start. Prints its seed;
 * replay with COSELL_PROP_SEED=<seed>.
 */
const seed = Number(process.env.COSELL_PROP_SEED ?? Date.now() % 2 ** 31);

describe('formatTable (property)', () => {
  it('lays out every row in aligned columns', () => {
    console.log(`table property: seed ${seed} (replay: COSELL_PROP_SEED=${seed} npx vitest run test/cli/table.property.test.ts)`);
    const word = fc.stringMatching(/^[a-z0-9.:@-]{1,12}$/);
    const columns = fc.uniqueArray(word, { minLength: 1, maxLength: 6 });
    const rowsOf = (cols: string[]) => fc.array(fc.tuple(...cols.map(() => fc.oneof(word, fc.integer({ min: -1e6, max: 1e6 }), fc.constant(undefined)))), { maxLength: 15 });
    fc.assert(
      fc.property(columns.chain((cols) => fc.tuple(fc.constant(cols), rowsOf(cols), fc.integer({ min: 3, max: 20 }))), ([cols, tuples, maxWidth]) => {
        const rows = tuples.map((t) => Object.fromEntries(cols.map((c, i) => [c, t[i]])));
        const lines = formatTable(rows, { columns: cols, maxWidth }).split('\n');
        expect(lines.pop()).toBe('');
        expect(lines).toHaveLength(rows.length + 2);
        expect(lines[0]).not.toContain('(index)');
        // Column offsets from the rule line ("---  -----  --").
        const starts = [...lines[1].matchAll(/-+/g)].map((m) => m.index);
        expect(starts).toHaveLength(cols.length);
        const grid = [cols, ...rows.map((r) => cols.map((c) => (r[c] === undefined ? '' : String(r[c]))))];
        for (const [i, line] of [lines[0], ...lines.slice(2)].entries()) {
          expect(line).toBe(line.trimEnd());
          for (const [j, cell] of grid[i].entries()) {
            const shown = cell.length > maxWidth ? cell.slice(0, maxWidth - 1) : cell;
            expect(line.slice(starts[j], starts[j] + shown.length)).toBe(shown);
            if (j > 0 && starts[j] > 0) expect(line[starts[j] - 1] ?? ' ').toBe(' ');
          }
        }
      }),
      { seed, numRuns: 300 },
    );
  });
});
