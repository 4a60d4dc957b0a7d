/** Token counts a scripted turn reports. */
export interface ScenarioUsage {
  inputTokens: number
  outputTokens: number
  cachedInputTokens?: number
  reasoningTokens?: number
}

/** One tool call a scripted turn makes. */
export interface ScenarioToolCall {
  /** Call id, unique within the scenario (`call_<turn>_<n>` unless given). */
  id: string
  name: string
  input: unknown
}

/** What goes wrong with a turn instead of (or while) answering. */
export type ScenarioFault =
  /** The model call fails with this HTTP status (`error(429)`, `error(500)`...). */
  | {
      type: 'error'
      status: number
      message: string
      /** The `retry-after` header a fake sends with it, in seconds (default 0 on a 429, none else). */
      retryAfterSeconds?: number
    }
  /** The model call never answers; only an abort ends it. */
  | { type: 'hang' }
  /** The answer is not valid for the protocol (broken JSON, a wrong shape). */
  | { type: 'malformed' }
  /** The answer starts, then the connection is cut in the middle (a stream ends early). */
  | { type: 'cut-stream' }

/** One scripted model call: an answer (text and/or tool calls) or a fault. */
export interface ScenarioTurn {
  /** Position in the script, from 0. */
  index: number
  /** Final text of the answer ('' when the turn only calls tools). */
  text: string
  /** Reasoning text, for frameworks that stream it. */
  reasoning?: string
  toolCalls: ScenarioToolCall[]
  usage: ScenarioUsage
  /** Wait this long before answering (`slow(ms)`). */
  delayMs: number
  fault?: ScenarioFault
}

/** A finished script: the turns a fake model plays, in order. */
export interface Scenario {
  readonly turns: readonly ScenarioTurn[]
}

/** The usage a turn reports unless `.usage(...)` says otherwise. */
export const defaultTurnUsage: ScenarioUsage = { inputTokens: 10, outputTokens: 5 }

/**
 * Builds a script for a fake model, one model call per method:
 *
 * ```ts
 * scenario().toolCall('report_status', { message: 'Searching', percentage: 20 }).toolCall('search', { query: 'otters' }).text('Done.')
 * ```
 *
 * Faults stand for a whole model call (`error(429)`, `hang()`, `malformed()`, `cutStream()`);
 * `slow(ms)` and `usage(...)` change the call added last.
 */
export class ScenarioBuilder implements Scenario {
  readonly #turns: ScenarioTurn[] = []

  get turns(): readonly ScenarioTurn[] {
    return this.#turns
  }

  /** A model call that calls one tool. */
  toolCall(name: string, input: unknown, options: { id?: string; text?: string } = {}): this {
    return this.toolCalls([{ name, input, ...(options.id ? { id: options.id } : {}) }], options.text)
  }

  /** A model call that calls several tools at once (the runner should run them in parallel). */
  toolCalls(calls: Array<{ name: string; input: unknown; id?: string }>, text = ''): this {
    const index = this.#turns.length
    this.#turns.push(
      this.#turn({
        text,
        toolCalls: calls.map((call, position) => ({
          id: call.id ?? `call_${index}_${position}`,
          name: call.name,
          input: call.input,
        })),
      }),
    )
    return this
  }

  /** A model call that answers with text and no tool call: the final answer. */
  text(text: string, options: { reasoning?: string } = {}): this {
    this.#turns.push(
      this.#turn({ text, ...(options.reasoning === undefined ? {} : { reasoning: options.reasoning }) }),
    )
    return this
  }

  /**
   * A model call that fails with an HTTP status (429, 500, 529...). `retryAfterSeconds`: the
   * `retry-after` header the fake sends with it (default `0` on a 429, none on other statuses).
   */
  error(
    status: number,
    message = `Scripted error ${status}`,
    options: { retryAfterSeconds?: number } = {},
  ): this {
    const { retryAfterSeconds } = options
    this.#turns.push(
      this.#turn({
        fault: {
          type: 'error',
          status,
          message,
          ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
        },
      }),
    )
    return this
  }

  /** A model call that never answers until it is aborted. */
  hang(): this {
    this.#turns.push(this.#turn({ fault: { type: 'hang' } }))
    return this
  }

  /** A model call whose answer is not valid protocol. */
  malformed(): this {
    this.#turns.push(this.#turn({ fault: { type: 'malformed' } }))
    return this
  }

  /** A model call that answers with `text` (or the given tool calls) but is cut in the middle. */
  cutStream(text = 'This answer is cut in the middle of'): this {
    this.#turns.push(this.#turn({ text, fault: { type: 'cut-stream' } }))
    return this
  }

  /** Delays the call added last by `ms` before it answers. */
  slow(ms: number): this {
    this.#last('slow').delayMs = ms
    return this
  }

  /** Sets the usage reported by the call added last. */
  usage(usage: Partial<ScenarioUsage>): this {
    const last = this.#last('usage')
    last.usage = { ...last.usage, ...usage }
    return this
  }

  #turn(fields: Partial<ScenarioTurn>): ScenarioTurn {
    return {
      index: this.#turns.length,
      text: '',
      toolCalls: [],
      usage: { ...defaultTurnUsage },
      delayMs: 0,
      ...fields,
    }
  }

  #last(method: string): ScenarioTurn {
    const last = this.#turns.at(-1)
    if (!last) throw new Error(`scenario().${method}() changes the call added last: add a call before it.`)
    return last
  }
}

/** Starts a script. */
export function scenario(): ScenarioBuilder {
  return new ScenarioBuilder()
}
