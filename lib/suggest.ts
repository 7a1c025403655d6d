/** "Did you mean" suggestions for every config-like file (mappings, policies): the closest candidate by edit distance, case-insensitive. */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    if (cl === lower) return c;
    const score = levenshtein(lower, cl);
    if (score < bestScore || (score === bestScore && best !== undefined && c < best)) {
      best = c;
      bestScore = score;
    }
  }
  if (best === undefined) return undefined;
  if (bestScore > Math.max(2, Math.floor(name.length / 3))) {
    // "Lost" → "Closed Lost": a candidate that contains the name whole is a better guess than nothing
    const containing = [...candidates].filter((c) => name.length >= 3 && c.toLowerCase().includes(lower)).sort((a, b) => a.length - b.length);
    if (containing.length > 0) return containing[0];
  }
  // accept up to a third of the name's length, at least 2 edits (so `amout` → `amount`)
  return bestScore <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const c = closest(name, candidates);
  return c === undefined ? undefined : `did you mean "${c}"?`;
}

/** A fix hint: "did you mean X?" when something is close, else the list of valid choices. */
export function suggestionHint(word: string, candidates: readonly string[]): string {
  const c = closest(word, candidates);
  if (c) return `did you mean "${c}"?`;
  return candidates.length ? `expected one of: ${candidates.join(', ')}` : 'remove it';
}
