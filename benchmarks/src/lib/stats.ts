/** Median and spread of repeated measurements. */
export interface Stat {
  median: number
  /** First and third quartiles: the middle half of the samples lies between them. */
  p25: number
  p75: number
  min: number
  max: number
  /** How many samples (repetitions) the figures come from. */
  samples: number
}

/** The `q` quantile (0..1), interpolated between the closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const position = (sorted.length - 1) * q
  const lower = Math.floor(position)
  const upper = Math.ceil(position)
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower)
}

export const median = (values: readonly number[]): number => quantile(values, 0.5)

export function stat(values: readonly number[]): Stat {
  return {
    median: median(values),
    p25: quantile(values, 0.25),
    p75: quantile(values, 0.75),
    min: values.length === 0 ? Number.NaN : Math.min(...values),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
    samples: values.length,
  }
}

/** Element-wise `a[i] / b[i]`: one ratio per repetition, both measured in the same round. */
export function ratios(subject: readonly number[], reference: readonly number[]): number[] {
  return subject.map((value, index) => value / reference[index]!)
}

/** Element-wise `a[i] - b[i]`. */
export function differences(subject: readonly number[], reference: readonly number[]): number[] {
  return subject.map((value, index) => value - reference[index]!)
}
