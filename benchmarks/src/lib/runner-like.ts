/**
 * The slice of a runner the cases use, for adapters loaded at run time (their types may not exist
 * yet when this package is type-checked). Every runner has it: it is `BaseAgentRunner`'s API.
 */
export interface RunnerLike {
  run(agent: unknown, input: unknown): Promise<{ text?: string }>
  runStreamed(
    agent: unknown,
    input: unknown,
  ): AsyncIterable<{ type: string; text?: string }> & {
    result: Promise<{ text?: string }>
  }
}

export type RunnerClass = new (options?: Record<string, unknown>) => RunnerLike
