/**
 * From an offset inside a YAML scalar's *value* to an offset in the file. The yaml library gives each
 * node's source range; quoting, escapes and folding mean value offsets and source offsets differ, so
 * the two are aligned character by character (white space matches white space, anything else in the
 * source that the value does not contain — quotes, escapes, indentation — is skipped).
 */
import { isScalar, type Node } from 'yaml';

export function valueOffsetMapper(text: string, node: Node | null | undefined): (offset: number) => number {
  if (!node?.range) return () => 0;
  const [start, end] = node.range;
  if (!isScalar(node) || typeof node.value !== 'string') return () => start;
  const value = node.value;
  let from = start;
  if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') from = start + 1;
  else if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
    const nl = text.indexOf('\n', start);
    from = nl >= 0 && nl < end ? nl + 1 : start;
  }
  // Fast path: the value is written verbatim in the source.
  if (text.startsWith(value, from)) return (o) => from + Math.min(Math.max(o, 0), value.length);
  const map: number[] = new Array(value.length + 1);
  let j = from;
  const isWs = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  for (let i = 0; i < value.length; i++) {
    while (j < end && text[j] !== value[i] && !(isWs(value[i]) && isWs(text[j]))) j++;
    map[i] = Math.min(j, end);
    if (j < end) j++;
  }
  map[value.length] = Math.min(j, end);
  return (o) => map[Math.min(Math.max(o, 0), value.length)];
}
