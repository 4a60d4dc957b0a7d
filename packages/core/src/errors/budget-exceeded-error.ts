import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.BudgetExceededError')

/** The run's usage reached its `budget` before a model call, and `budget.onExceeded` is `'fail'` (or the wrap-up was used). Never retried. */
export class BudgetExceededError extends RunnerError {
  readonly [marker] = true
  /** Which limit was reached. */
  readonly budget: 'maxTokens' | 'maxCostUsd'
  /** The limit (tokens, or US dollars). */
  readonly limit: number
  /** What the run had used when the limit was found reached (tokens, or US dollars). */
  readonly spent: number
  /**
   * Set when the limit is a shared budget's (`createSharedBudget`): its name, the key, the window
   * (`per day`) and when the window ends (ISO 8601). `spent` is then the key's spending in the window.
   */
  readonly shared: SharedBudgetInfo | undefined

  constructor(
    budget: 'maxTokens' | 'maxCostUsd',
    limit: number,
    spent: number,
    options: RunnerErrorOptions & { message?: string; shared?: SharedBudgetInfo } = {},
  ) {
    super(
      options.message ??
        (options.shared
          ? `${budgetReachedMessage(budget, limit, spent, options.shared)}. Wait for the window to end, raise the shared budget's ${budget}, or set budget.onExceeded: 'wrap-up' to ask the model for a final answer instead.`
          : `${budgetReachedMessage(budget, limit, spent)}. Raise budget.${budget}, or set budget.onExceeded: 'wrap-up' to ask the model for a final answer instead.`),
      options,
    )
    this.name = 'BudgetExceededError'
    this.budget = budget
    this.limit = limit
    this.spent = spent
    this.shared = options.shared
  }

  static override isInstance(value: unknown): value is BudgetExceededError {
    return hasMarker(value, marker)
  }
}

/** The shared budget a `BudgetExceededError` is about. */
export interface SharedBudgetInfo {
  name: string
  key: string
  /** `per day`, `per hour`, `per 15 min`. */
  per: string
  /** When the window ends and the key may spend again (ISO 8601). */
  resetsAt: string
}

/**
 * `Budget reached: 10,240 of 10,000 tokens` (or `$0.0123 of $0.01`); for a shared budget
 * `Budget tenant-daily reached for "acme": 10,240 of 10,000 tokens per day (until 2026-12-05T00:00:00.000Z)`.
 */
export function budgetReachedMessage(
  budget: 'maxTokens' | 'maxCostUsd',
  limit: number,
  spent: number,
  shared?: SharedBudgetInfo,
): string {
  const usd = (value: number) => `$${value.toLocaleString('en-US', { maximumSignificantDigits: 6 })}`
  const amounts =
    budget === 'maxTokens'
      ? `${spent.toLocaleString('en-US')} of ${limit.toLocaleString('en-US')} tokens`
      : `${usd(spent)} of ${usd(limit)}`
  if (!shared) return `Budget reached: ${amounts}`
  return `Budget ${shared.name} reached for ${JSON.stringify(shared.key)}: ${amounts} ${shared.per} (until ${shared.resetsAt})`
}
