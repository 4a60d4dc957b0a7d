/**
 * The known key closest to `key`, for "did you mean" hints, or `undefined` when none is close.
 *
 * Close means: at most a few edits apart (insertions, deletions, substitutions and swaps of two
 * neighbouring characters, ignoring case), or the only known key that starts with `key`
 * (`RUNNER_STORE` for `RUNNER_STORE_URL`).
 */
export function suggestKey(key: string, knownKeys: readonly string[]): string | undefined {
  const upper = key.toUpperCase()
  let best: { key: string; distance: number } | undefined
  for (const known of knownKeys) {
    const distance = editDistance(upper, known)
    if (distance <= Math.max(2, Math.floor(known.length / 5)) && (!best || distance < best.distance)) {
      best = { key: known, distance }
    }
  }
  if (best) return best.key
  const extensions = knownKeys.filter((known) => known.startsWith(upper))
  return extensions.length === 1 ? extensions[0] : undefined
}

/** Optimal string alignment distance: Levenshtein plus transpositions of adjacent characters. */
export function editDistance(a: string, b: string): number {
  // rows[i][j] = distance between the first i characters of `a` and the first j of `b`.
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let distance = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, rows[i - 2]![j - 2]! + 1)
      }
      rows[i]![j] = distance
    }
  }
  return rows[a.length]![b.length]!
}
