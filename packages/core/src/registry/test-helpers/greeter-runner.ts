import { BaseAgentRunner } from '../../runner/base-agent-runner.js'
import type { ExecuteResult, RunContext, RunnerOptions } from '../../runner/types.js'

/** The agent of `GreeterRunner`: plain data, like the adapters' agents. */
export interface GreeterAgent {
  model: string
  name?: string
}

/** Options of `GreeterRunner`: its own, beside every `RunnerOptions`. */
export interface GreeterRunnerOptions extends RunnerOptions<string> {
  /** Wins over the agent's model. */
  model?: string
  greeting?: string
  /** Every run fails with `Error('<name> is down')`. */
  down?: boolean
}

/**
 * A user's own runner, as the custom-runner example writes one: it extends `BaseAgentRunner`,
 * takes its own options beside the runner's, and answers `<greeting> from <name> (<model>): <input>`.
 */
export class GreeterRunner extends BaseAgentRunner<GreeterAgent, string, string> {
  readonly model: string | undefined
  readonly greeting: string
  readonly #down: boolean

  constructor({ model, greeting = 'Hello', down = false, ...options }: GreeterRunnerOptions = {}) {
    super(options)
    this.model = model
    this.greeting = greeting
    this.#down = down
  }

  protected override async execute(
    context: RunContext,
    agent: GreeterAgent,
    input: string,
  ): Promise<ExecuteResult<string>> {
    await context.startTurn()
    if (this.#down) throw new Error(`${this.name} is down`)
    const text = `${this.greeting} from ${this.name} (${this.model ?? agent.model}): ${input}`
    context.endTurn()
    return { output: text, text }
  }
}
