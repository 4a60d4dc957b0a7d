import type { ScenarioTurn } from '../scenario/scenario.js'
import type { SseScript } from './sse.js'

/** The wire protocols a protocol fake speaks, named after the API they copy. */
export type ProtocolName = 'openai-chat' | 'openai-responses' | 'anthropic-messages'

/** What an encoder knows about the call it answers. */
export interface AnswerContext {
  /** Id of the answer (`chatcmpl-…`, `resp_…`, `msg_…`), unique on the server. */
  id: string
  /** The model named in the request. */
  model: string
  /** Unix seconds. */
  created: number
  /** The parsed request body. */
  body: Record<string, unknown>
}

/** A refused request: the status and message the API would answer. */
export interface HeaderProblem {
  status: number
  message: string
}

/** Turns scripted turns into one protocol's JSON bodies and SSE frames. */
export interface ProtocolCodec {
  readonly protocol: ProtocolName
  /** Prefix of answer ids (`chatcmpl-fake-`). */
  readonly idPrefix: string
  /** The JSON body answering a non-streamed call. */
  body(turn: ScenarioTurn, context: AnswerContext): unknown
  /** The frames answering a streamed call, with the point a cut stream stops at. */
  frames(turn: ScenarioTurn, context: AnswerContext): SseScript
  /** A stream that starts well, then carries data that is not JSON. */
  malformedFrames(context: AnswerContext): string[]
  /** The protocol's error body for an HTTP status. */
  errorBody(status: number, message: string): unknown
  /** Why the API would refuse the request's headers (no credentials...), or undefined when they are fine. */
  headerProblem(headers: Readonly<Record<string, string>>): HeaderProblem | undefined
}

/** The JSON text a tool call's input is sent as. */
export function argumentsJson(input: unknown): string {
  return JSON.stringify(input ?? {})
}

/** A plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
