/**
 * Is a text completion degenerate (empty, a loop, one repeated token, noise)? Pure; used by
 * MLOPS-4.2's criteria and the lab LLM's integration test.
 */

/** Lower-case words (letters and apostrophes). */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z']+/)
    .filter(Boolean);
}

/**
 * Why a completion is degenerate, or null. Thresholds, for 16-32 tokens (about 8-20 words):
 * - at least 4 words;
 * - distinct/total words >= 0.5: prose of that length repeats only function words (the lab
 *   model's samples measure 0.8-0.9); a loop of a phrase of k words over n words gives k/n, so
 *   anything under 0.5 repeats each word at least twice on average;
 * - no word above 1/3 of all words: one token repeated;
 * - with `vocabulary` (the words a model was trained on): >= 80% of the words are in it, so
 *   byte-level noise fails (the lab's tiny LLM: 100% on its corpus).
 */
export function degenerate(text: string, vocabulary?: ReadonlySet<string>): string | null {
  const w = words(text);
  if (w.length < 4) return `only ${w.length} word(s): ${JSON.stringify(text)}`;
  const distinct = new Set(w).size / w.length;
  if (distinct < 0.5) return `distinct-word ratio ${distinct.toFixed(2)} < 0.5: ${JSON.stringify(text)}`;
  const counts = new Map<string, number>();
  for (const x of w) counts.set(x, (counts.get(x) ?? 0) + 1);
  const [top, n] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
  if (n / w.length > 1 / 3) return `"${top}" is ${n} of ${w.length} words: ${JSON.stringify(text)}`;
  if (vocabulary) {
    const known = w.filter((x) => vocabulary.has(x)).length / w.length;
    if (known < 0.8) return `only ${(known * 100).toFixed(0)}% of the words are in the corpus: ${JSON.stringify(text)}`;
  }
  return null;
}
