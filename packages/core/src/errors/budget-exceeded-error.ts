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

  constructor(
    budget: 'maxTokens' | 'maxCostUsd',
    limit: number,
    spent: number,
    options: RunnerErrorOptions & { message?: string } = {},
  ) {
    super(
      options.message ??
        `${budgetReachedMessage(budget, limit, spent)}. Raise budget.${budget}, or set budget.onExceeded: 'wrap-up' to ask the model for a final answer instead.`,
      options,
    )
    this.name = 'BudgetExceededError'
    this.budget = budget
    this.limit = limit
    this.spent = spent
  }

  static override isInstance(value: unknown): value is BudgetExceededError {
    return hasMarker(value, marker)
  }
}

/** `Budget reached: 10,240 of 10,000 tokens` (or `$0.0123 of $0.01`). */
export function budgetReachedMessage(
  budget: 'maxTokens' | 'maxCostUsd',
  limit: number,
  spent: number,
): string {
  if (budget === 'maxTokens')
    return `Budget reached: ${spent.toLocaleString('en-US')} of ${limit.toLocaleString('en-US')} tokens`
  const usd = (value: number) => `$${value.toLocaleString('en-US', { maximumSignificantDigits: 6 })}`
  return `Budget reached: ${usd(spent)} of ${usd(limit)}`
}
