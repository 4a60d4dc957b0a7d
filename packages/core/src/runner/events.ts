import type { ActivityStatus, Usage } from '../activity/types.js'
import type { RunResult } from './types.js'

/** The first event of every run. */
export interface RunStartEvent {
  type: 'run-start'
  agentId: string
  agentType: string
}

/** A model call (turn) begins. Turns count from 1 within an attempt. */
export interface TurnStartEvent {
  type: 'turn-start'
  turn: number
  attempt: number
  /** True for the extra turns granted by `maxTurnsRecovery` (no tools, wrap-up prompt). */
  wrapUp: boolean
}

/** A piece of the assistant's answer text. */
export interface TextDeltaEvent {
  type: 'text-delta'
  text: string
}

/** A piece of the model's reasoning, when the framework exposes it. */
export interface ReasoningDeltaEvent {
  type: 'reasoning-delta'
  text: string
}

/** The model called a tool; emitted once its arguments are complete. */
export interface ToolCallEvent {
  type: 'tool-call'
  toolCallId: string
  toolName: string
  input: unknown
}

/** A tool finished (or was denied, or failed: `isError`). */
export interface ToolResultEvent {
  type: 'tool-result'
  toolCallId: string
  toolName: string
  output: unknown
  isError: boolean
}

/** The activity changed: lifecycle moves, retries, fallbacks and `report_status` alike. */
export interface StatusUpdateEvent {
  type: 'status-update'
  status: ActivityStatus
  message: string
  /** Integer 0..100, or null when this change did not set one. */
  percentage: number | null
  /**
   * Set when the line says the run waits for traffic control: a rate-limit slot (`Waiting for rate
   * limit (openai: 60 RPM)`), so that a UI can explain why the run is not moving. The next
   * status update without it says the wait ended.
   */
  wait?: RunWait
}

/** What a run waits for (`StatusUpdateEvent.wait`). */
export interface RunWait {
  /** `rate-limit`: a slot of the runner's `rateLimiter`. */
  reason: 'rate-limit'
  /** The limiter's key the call waits for (`openai`, `openai/gpt-4o`). */
  key: string
  /** The limit, as the activity line says it (`60 RPM`, `100,000 TPM`). */
  limit: string
}

/** A turn ended, with the usage of that turn. */
export interface TurnEndEvent {
  type: 'turn-end'
  turn: number
  usage: Usage
}

/**
 * An attempt failed and another starts after `delayMs`. Never sent after text or reasoning of the
 * failing attempt reached the reader: that run fails instead, so a reader never sees two answers
 * glued together.
 */
export interface RetryEvent {
  type: 'retry'
  /** The attempt that follows (2 for the first retry), as the activity line says: "attempt 2 of 3". */
  attempt: number
  /** The attempts the run may reach. */
  maxAttempts: number
  delayMs: number
  /**
   * True when the next attempt starts the agent over from its first turn (its turns and tool calls
   * run again); false when only the failed model request is repeated, the conversation kept.
   */
  restart: boolean
  /** Why the attempt failed. */
  error: unknown
}

/** The last event of a successful run. */
export interface RunEndEvent<TOutput = unknown> {
  type: 'run-end'
  result: RunResult<TOutput>
}

/** The last event of a failed, canceled or timed-out run. */
export interface RunErrorEvent {
  type: 'run-error'
  error: unknown
}

/** The framework's own event, passed through unchanged (only with `includeNative`). */
export interface NativeEvent {
  type: 'native'
  event: unknown
}

/** Everything a run stream yields. `run-start` is always first; `run-end` or `run-error` always last. */
export type RunEvent<TOutput = unknown> =
  | RunStartEvent
  | TurnStartEvent
  | TextDeltaEvent
  | ReasoningDeltaEvent
  | ToolCallEvent
  | ToolResultEvent
  | StatusUpdateEvent
  | TurnEndEvent
  | RetryEvent
  | RunEndEvent<TOutput>
  | RunErrorEvent
  | NativeEvent

/** Events an adapter emits through `RunContext.emit`; the base class emits the others. */
export type AdapterEvent =
  | TextDeltaEvent
  | ReasoningDeltaEvent
  | ToolCallEvent
  | ToolResultEvent
  | NativeEvent
