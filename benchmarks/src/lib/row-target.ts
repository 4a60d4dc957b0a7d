import { type Row, type Target, verdict } from './results.ts'

/** The row with a target, and its verdict against that target. */
export function withTarget(row: Row, target: Target): Row {
  return { ...row, target, verdict: verdict(target, row.value.median, row.ratio?.median) }
}
