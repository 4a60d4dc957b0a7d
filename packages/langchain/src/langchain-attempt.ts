import type { BaseMessage } from '@langchain/core/messages'
import type { RunContext } from '@runner/core'
import type { TurnInfo } from '@runner/core/adapter'

/** Why the runner stopped the LangChain run of an attempt itself. */
export type StopReason =
  /** An error that must fail the run: a throwing hook, `MaxTurnsExceededError`, an unenforceable tool hook... */
  | { kind: 'error'; error: unknown }
  /** The turn limit of `maxTurnsRecovery`: the model call past it was stopped; wrap up from its messages. */
  | { kind: 'wrap-up'; messages: BaseMessage[]; turn: TurnInfo }

/** The abort reason of a stop for the wrap-up: what LangChain throws out of the stopped run. */
export class WrapUpStop extends Error {
  override name = 'WrapUpStop'
  constructor() {
    super('The runner stopped the agent at the turn limit to ask it for a wrap-up answer.')
  }
}

const attempts = new WeakMap<RunContext, LangChainAttempt>()

/**
 * The state of one attempt of a `LangChainRunner` run, shared by the callback handler and the
 * wrapped tools: the run's context, the signal given to LangChain (it aborts when the run's does,
 * and when the runner stops the run itself), why it stopped, and the bookkeeping that keeps a
 * tool call from being reported twice.
 *
 * Callbacks cannot veto anything: a hook error or the turn limit is recorded here and the
 * LangChain run is aborted; `execute` then throws the recorded error (or wraps up).
 */
export class LangChainAttempt {
  #controller = new AbortController()
  #stop: StopReason | undefined
  #closed = false
  #unlink: () => void = () => {}
  /** LangChain run ids of tools called by a wrapped tool (the callbacks leave those to the wrapper). */
  readonly wrappedRuns = new Set<string>()
  /** The last answer of a model in this attempt (for the final text when the output has none). */
  lastAnswer: unknown

  constructor(readonly context: RunContext) {
    this.#link()
    attempts.set(context, this)
  }

  /** The attempt of a run context, when it is a `LangChainRunner` run. */
  static of(context: RunContext | undefined): LangChainAttempt | undefined {
    return context ? attempts.get(context) : undefined
  }

  /** The signal given to LangChain: the run's signal, plus the runner's own stops. */
  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /** Why the runner stopped the LangChain run, if it did. */
  get stopReason(): StopReason | undefined {
    return this.#stop
  }

  /** True once the attempt ended or its LangChain run was stopped: late callbacks are ignored. */
  get inactive(): boolean {
    return this.#closed || this.#controller.signal.aborted
  }

  /** Fails the run with `error` (the first one wins) and aborts the LangChain run. */
  fail(error: unknown): void {
    this.#halt({ kind: 'error', error }, error)
  }

  /** Stops the LangChain run at the turn limit so that the runner can ask for a wrap-up. */
  stopForWrapUp(messages: BaseMessage[], turn: TurnInfo): void {
    this.#halt({ kind: 'wrap-up', messages, turn }, new WrapUpStop())
  }

  /** A fresh signal for the wrap-up call, after a stop for the wrap-up. */
  resume(): void {
    this.#unlink()
    this.#stop = undefined
    this.#controller = new AbortController()
    this.#link()
  }

  /** Ends the attempt: late callbacks of work that ignored the abort change nothing any more. */
  close(): void {
    this.#closed = true
    this.#unlink()
    attempts.delete(this.context)
  }

  /** Aborts the current controller when the run's signal aborts (cancel, timeout, a consumer that stopped). */
  #link(): void {
    const { signal } = this.context
    const controller = this.#controller
    const onAbort = () => controller.abort(signal.reason)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    this.#unlink = () => signal.removeEventListener('abort', onAbort)
  }

  #halt(reason: StopReason, abortWith: unknown): void {
    if (this.#stop || this.#closed) return
    this.#stop = reason
    if (!this.#controller.signal.aborted) this.#controller.abort(abortWith)
  }
}
