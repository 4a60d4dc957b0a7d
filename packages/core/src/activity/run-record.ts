import { z } from 'zod'
import { CheckpointTooLargeError } from '../errors/checkpoint-too-large-error.js'
import { DecisionError } from '../errors/decision-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { assertJsonDepth, MAX_JSON_DEPTH } from '../util/json-limits.js'
import { parseOrThrow } from '../util/zod-issues.js'
import { assertStorableText, storableJsonText, storableText } from './text-policy.js'
import type {
  ActivityStatus,
  Checkpoint,
  CheckpointInput,
  Decision,
  DecisionInput,
  JournalEntry,
  JournalEntryInput,
  JsonValue,
  PendingRequest,
  PendingRequestInput,
} from './types.js'

/**
 * Helpers shared by every store for the durable part of a run (checkpoint, journal, pending
 * requests, result): each store validates, sizes and decides alike, and keeps each part as one
 * JSON text (encoded once, here). Under the text policy (`text-policy.ts`) every NUL and lone
 * surrogate in these parts becomes U+FFFD, except in the ids (tool call and request ids), which
 * are refused with them.
 */

/**
 * The deepest nesting of a checkpoint's state and of a journal entry: `MAX_JSON_DEPTH` plus room
 * for the runner's own envelope (conversation, message, content block) around tool inputs and
 * outputs that are themselves at the limit.
 */
export const MAX_RECORD_DEPTH = MAX_JSON_DEPTH + 32

/** Default of a store's `maxRecordBytes`: the largest checkpoint or journaled tool result it accepts. */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024

const nonNegativeInt = z
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(0, 'must be 0 or more')

const usageSchema = z.object({
  inputTokens: nonNegativeInt,
  outputTokens: nonNegativeInt,
  totalTokens: nonNegativeInt,
  cachedInputTokens: nonNegativeInt.optional(),
  reasoningTokens: nonNegativeInt.optional(),
  cacheWriteInputTokens: nonNegativeInt.optional(),
  costUsd: z.number({ error: 'must be a number' }).min(0, 'must be 0 or more').optional(),
})

const checkpointMetaSchema = z.object({
  runner: z.string({ error: 'must be a string' }).min(1, 'must be a non-empty string').max(200),
  turn: nonNegativeInt,
  usage: usageSchema,
  attempt: nonNegativeInt.min(1, 'must be 1 or more'),
})

const idSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must be a non-empty string')
  .max(200, 'must be at most 200 characters')

const pendingSchema = z
  .array(
    z.object({
      id: idSchema,
      kind: z.enum(['approval', 'input'], { error: "must be 'approval' or 'input'" }),
      toolName: z.string().optional(),
      input: z.unknown().optional(),
      payload: z.unknown().optional(),
    }),
    { error: 'must be an array of pending requests' },
  )
  .min(1, 'must hold at least one request')
  .refine((items) => new Set(items.map((item) => item.id)).size === items.length, {
    error: 'request ids must be unique',
  })

const journalSchema = z.object({
  toolCallId: idSchema,
  toolName: z.string({ error: 'must be a string' }),
  isError: z.boolean({ error: 'must be a boolean' }),
  attempt: nonNegativeInt.min(1, 'must be 1 or more'),
})

const decisionSchema = z.discriminatedUnion(
  'type',
  [
    z.object({
      type: z.literal('approve'),
      input: z.unknown().optional(),
      reason: z.string().optional(),
      by: z.string().max(200).optional(),
    }),
    z.object({ type: z.literal('deny'), reason: z.string().optional(), by: z.string().max(200).optional() }),
    z.object({ type: z.literal('respond'), value: z.unknown(), by: z.string().max(200).optional() }),
  ],
  { error: "must be { type: 'approve' | 'deny' | 'respond', ... }" },
)

/**
 * A JSON copy of `value`, each NUL and lone surrogate replaced by U+FFFD, or
 * `InvalidOptionsError` naming `field` when JSON cannot hold it (`ValueTooLargeError` when it nests
 * more than `limit` levels, default `MAX_JSON_DEPTH`, checked first).
 */
export function jsonOf(value: unknown, field: string, limit = MAX_JSON_DEPTH): JsonValue {
  assertJsonDepth(value, field, { subject: 'run record', limit })
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (error) {
    throw new InvalidOptionsError(
      [{ field, message: `is not JSON (${error instanceof Error ? error.message : String(error)})` }],
      { subject: 'run record' },
    )
  }
  return text === undefined ? null : (JSON.parse(storableJsonText(text)) as JsonValue)
}

/**
 * JSON text of `value`, each NUL and lone surrogate replaced by U+FFFD (same length and size),
 * refusing what JSON cannot hold with an error naming `field`, and values nested more than
 * `MAX_JSON_DEPTH` levels (`ValueTooLargeError`, checked first).
 */
function jsonText(value: unknown, field: string, limit = MAX_JSON_DEPTH): string {
  assertJsonDepth(value, field, { subject: 'run record', limit })
  try {
    return storableJsonText(JSON.stringify(value) ?? 'null')
  } catch (error) {
    throw new InvalidOptionsError(
      [{ field, message: `is not JSON (${error instanceof Error ? error.message : String(error)})` }],
      { subject: 'run record' },
    )
  }
}

/** Validates a checkpoint's fields (its `state` is checked when encoded). */
export function validateCheckpointInput(value: unknown, prefix = 'checkpoint'): CheckpointInput {
  const meta = parseOrThrow(checkpointMetaSchema, value, 'checkpoint', prefix)
  const state = (value as { state?: unknown }).state
  if (state === undefined) {
    throw new InvalidOptionsError(
      [{ field: `${prefix}.state`, message: 'is required (the runner state to continue from)' }],
      {
        subject: 'checkpoint',
      },
    )
  }
  return { state: state as JsonValue, ...meta } as CheckpointInput
}

/**
 * Validates pending requests (non-empty, unique ids, none holding a NUL or lone surrogate); their
 * `input` and `payload` become JSON copies, with U+FFFD for a NUL or lone surrogate as in `toolName`.
 */
export function validatePendingInput(value: unknown): PendingRequestInput[] {
  const valid = parseOrThrow(pendingSchema, value, 'activity update', 'pending')
  return valid.map((item, index) => {
    assertStorableText(item.id, `pending.${index}.id`, 'activity update')
    const request: PendingRequestInput = { id: item.id, kind: item.kind }
    if (item.toolName !== undefined) request.toolName = storableText(item.toolName)
    if (item.input !== undefined) request.input = jsonOf(item.input, `pending.${index}.input`)
    if (item.payload !== undefined) request.payload = jsonOf(item.payload, `pending.${index}.payload`)
    return request
  })
}

/** The stored text of a checkpoint, stamped with `at` and its size; refuses one over `limitBytes`. */
export function encodeCheckpoint(
  agentId: string,
  input: CheckpointInput,
  at: string,
  limitBytes: number,
): string {
  const meta = validateCheckpointInput(input)
  const state = jsonText(meta.state, 'checkpoint.state', MAX_RECORD_DEPTH)
  const bytes = Buffer.byteLength(state, 'utf8')
  if (bytes > limitBytes) throw new CheckpointTooLargeError(agentId, 'checkpoint', bytes, limitBytes)
  const { state: _state, ...rest } = meta
  const head = storableJsonText(JSON.stringify({ ...rest, at, bytes }))
  // The state is spliced in as encoded: a large conversation is serialised once.
  return `${head.slice(0, -1)},"state":${state}}`
}

/** A checkpoint from its stored text. */
export function decodeCheckpoint(text: string): Checkpoint {
  return JSON.parse(text) as Checkpoint
}

/** The stored text of a journal entry; refuses one over `limitBytes`. */
export function encodeJournalEntry(
  agentId: string,
  input: JournalEntryInput,
  at: string,
  limitBytes: number,
): { toolCallId: string; text: string } {
  const meta = parseOrThrow(journalSchema, input, 'journal entry')
  assertJsonDepth(input.input, `journal entry ${meta.toolCallId}.input`, { subject: 'run record' })
  assertJsonDepth(input.output, `journal entry ${meta.toolCallId}.output`, { subject: 'run record' })
  assertStorableText(meta.toolCallId, 'toolCallId', 'journal entry')
  const text = jsonText(
    { ...meta, input: input.input ?? null, output: input.output ?? null, at },
    `journal entry ${meta.toolCallId}`,
    MAX_RECORD_DEPTH,
  )
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > limitBytes)
    throw new CheckpointTooLargeError(agentId, `journal entry ${meta.toolCallId}`, bytes, limitBytes)
  return { toolCallId: meta.toolCallId, text }
}

/** A journal entry from its stored text. */
export function decodeJournalEntry(text: string): JournalEntry {
  return JSON.parse(text) as JournalEntry
}

/** Validates a decision and stamps it. */
export function validateDecision(decision: DecisionInput, at: string): Decision {
  const valid = parseOrThrow(decisionSchema, decision, 'decision')
  const stamped = { ...valid, at } as Decision & { input?: unknown; value?: unknown; reason?: string }
  if (valid.by !== undefined) stamped.by = storableText(valid.by)
  if (valid.type !== 'respond' && valid.reason !== undefined) stamped.reason = storableText(valid.reason)
  if (valid.type === 'approve' && valid.input !== undefined)
    stamped.input = jsonOf(valid.input, 'decision.input')
  if (valid.type === 'respond') stamped.value = jsonOf(valid.value, 'decision.value')
  return stamped as Decision
}

/**
 * The pending requests after `decision` on `requestId`, or `DecisionError` when it cannot apply:
 * the run is not waiting, the request is not among the pending ones, it was decided already, or
 * the decision does not fit its kind (`respond` answers an `input` request; approve and deny an
 * `approval`).
 */
export function applyDecision(
  agentId: string,
  status: ActivityStatus,
  pending: PendingRequest[] | undefined,
  requestId: string,
  decision: Decision,
): PendingRequest[] {
  if (status !== 'waiting' || !pending) {
    throw new DecisionError(agentId, requestId, `the run is ${status}, not waiting for a decision`)
  }
  const index = pending.findIndex((request) => request.id === requestId)
  const request = pending[index]
  if (!request) {
    const ids = pending.map((item) => `"${item.id}"`).join(', ')
    throw new DecisionError(agentId, requestId, `it is not pending (pending: ${ids})`)
  }
  if (request.decision) {
    throw new DecisionError(
      agentId,
      requestId,
      `it was already decided (${request.decision.type} at ${request.decision.at})`,
    )
  }
  if (request.kind === 'approval' && decision.type === 'respond') {
    throw new DecisionError(agentId, requestId, 'it asks for an approval: approve or deny it')
  }
  if (request.kind === 'input' && decision.type !== 'respond') {
    throw new DecisionError(agentId, requestId, 'it asks for a value: respond to it')
  }
  const next = pending.slice()
  next[index] = { ...request, decision }
  return next
}
