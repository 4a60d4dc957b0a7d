import type { Scenario, ScenarioTurn } from './scenario.js'

/** What a fake model was asked on one call, kept for assertions. */
export interface PlayedCall {
  /** 0-based call number. */
  call: number
  /** The request as the fake saw it (messages, tools...), as the driver records it. */
  request: unknown
  /**
   * The signal of this model call, when the driver gives it: the suite checks that a cancel or
   * a timeout really aborts the call in flight.
   */
  signal?: AbortSignal
}

/**
 * Hands out a scenario's turns in order, one per model call, and keeps what was asked. A call
 * beyond the script throws; `assertDone()` fails when scripted turns were never used. Drivers
 * (protocol fakes, fake models) play a scenario through one player.
 */
export class ScenarioPlayer {
  readonly calls: PlayedCall[] = []
  readonly #turns: readonly ScenarioTurn[]
  #next = 0

  constructor(
    readonly scenario: Scenario,
    readonly label = 'scenario',
  ) {
    this.#turns = scenario.turns
  }

  /** Turns not played yet. */
  get remaining(): number {
    return this.#turns.length - this.#next
  }

  /**
   * The turn for the next model call. Give it the request your fake model received and the
   * call's abort signal. Throws when the script is exhausted.
   */
  next(request?: unknown, options: { signal?: AbortSignal } = {}): ScenarioTurn {
    const call = this.calls.length
    this.calls.push(options.signal ? { call, request, signal: options.signal } : { call, request })
    const turn = this.#turns[this.#next]
    if (!turn) {
      throw new ScenarioExhaustedError(
        `${this.label}: model call ${call + 1} is beyond the script of ${this.#turns.length} turn(s). ` +
          'The runner called the model more often than the scenario expects: add turns, or fix the loop.',
      )
    }
    this.#next++
    return turn
  }

  /** Throws when some scripted turns were never played. */
  assertDone(): void {
    if (this.remaining > 0) {
      const unused = this.#turns
        .slice(this.#next)
        .map((turn) => describeTurn(turn))
        .join(', ')
      throw new Error(
        `${this.label}: ${this.remaining} scripted turn(s) never used: ${unused}. The runner stopped calling the model early.`,
      )
    }
  }
}

/** A model call beyond the end of a script. */
export class ScenarioExhaustedError extends Error {
  override name = 'ScenarioExhaustedError'
}

/** A short description of a turn for error messages. */
export function describeTurn(turn: ScenarioTurn): string {
  if (turn.fault?.type === 'error') return `#${turn.index} error(${turn.fault.status})`
  if (turn.fault) return `#${turn.index} ${turn.fault.type}`
  if (turn.toolCalls.length > 0)
    return `#${turn.index} toolCall(${turn.toolCalls.map((call) => call.name).join(', ')})`
  return `#${turn.index} text(${JSON.stringify(turn.text.slice(0, 30))})`
}

/**
 * What every driver does before answering a turn: waits `turn.delayMs` and, for a `hang()` turn,
 * waits until `signal` aborts. Rejects with the signal's reason on abort. Errors, malformed
 * answers and cut streams are the driver's to produce in its framework's own shape.
 */
export async function waitForTurn(turn: ScenarioTurn, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw signal.reason
  if (turn.delayMs > 0 || turn.fault?.type === 'hang') {
    await new Promise<void>((resolve, reject) => {
      const timer = turn.fault?.type === 'hang' ? undefined : setTimeout(done, turn.delayMs)
      function done() {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }
      function onAbort() {
        if (timer) clearTimeout(timer)
        reject(signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}
