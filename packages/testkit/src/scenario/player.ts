import type { Scenario, ScenarioTurn } from './scenario.js'

/** What a fake model was asked on one call, kept for assertions. */
export interface PlayedCall {
  /** 0-based call number. */
  call: number
  /** The request as the fake saw it (messages, tools...), as the driver records it. */
  request: unknown
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

  /** The turn for the next model call. Throws (with the request) when the script is exhausted. */
  next(request?: unknown): ScenarioTurn {
    const call = this.calls.length
    this.calls.push({ call, request })
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
