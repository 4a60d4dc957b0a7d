import { z } from 'zod'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { errorMessage } from '../util/error-message.js'
import { assertJsonDepth } from '../util/json-limits.js'
import { redactJsonText, redactSecrets } from '../util/secrets.js'
import { parseOrThrow } from '../util/zod-issues.js'
import { ACTIVITY_LOG_KINDS } from './log-kinds.js'
import { jsonOf, MAX_RECORD_DEPTH, validateCheckpointInput, validatePendingInput } from './run-record.js'
import {
  assertStorableFilter,
  assertStorableMetadata,
  assertStorableText,
  storableJsonText,
  storableText,
} from './text-policy.js'
import { isActiveStatus, isTerminalStatus } from './transitions.js'
import type {
  ActivityLogEntry,
  ActivityLogKind,
  ActivityStatus,
  ActivitySummary,
  AppendActivityInput,
  CreateActivityInput,
  ListActivitiesOptions,
  ListDocumentsOptions,
  MetadataFilter,
  StoredDocument,
  Trajectory,
  WatchFilter,
} from './types.js'

/** Helpers shared by every `ActivityStore` implementation, so that all of them validate alike. */

const statusSchema = z.enum(['queued', 'running', 'waiting', 'complete', 'error', 'canceled'])

/** Integer 0..100, the only percentages an activity accepts. */
export const percentageSchema = z
  .number({ error: 'must be a number' })
  .int('must be an integer from 0 to 100')
  .min(0, 'must be an integer from 0 to 100')
  .max(100, 'must be an integer from 0 to 100')

const metadataValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: 'filter values must be a string, number, boolean or null',
})

const metadataFilterSchema = z.record(z.string(), metadataValueSchema)

const jsonObjectSchema = z.record(z.string(), z.unknown()).refine(
  (value) => {
    try {
      JSON.stringify(value)
      return true
    } catch {
      return false
    }
  },
  { error: 'must be JSON-serialisable' },
)

const createSchema = z.object({
  agentId: z.string().min(1, 'must be a non-empty string').max(200, 'must be at most 200 characters'),
  agentType: z.string().min(1, 'must be a non-empty string').max(200, 'must be at most 200 characters'),
  message: z.string({ error: 'must be a string' }),
  metadata: jsonObjectSchema.optional(),
})

/** The highest attempt number a log entry accepts. */
export const MAX_LOG_ATTEMPT = 1_000_000

const attemptMessage = `must be an integer from 1 to ${MAX_LOG_ATTEMPT.toLocaleString('en-US')}`

/** A log entry's attempt: a positive integer, 1-based. */
const attemptSchema = z
  .number({ error: attemptMessage })
  .int(attemptMessage)
  .min(1, attemptMessage)
  .max(MAX_LOG_ATTEMPT, attemptMessage)

const kindSchema = z.enum(ACTIVITY_LOG_KINDS, {
  error: `must be one of ${ACTIVITY_LOG_KINDS.map((kind) => `'${kind}'`).join(', ')}`,
})

const appendSchema = z.object({
  status: statusSchema,
  message: z.string({ error: 'must be a string' }),
  percentage: percentageSchema.nullable().optional(),
  attempt: attemptSchema.optional(),
  kind: kindSchema.optional(),
  checkpoint: z.unknown().optional(),
  pending: z.unknown().optional(),
  expiresAt: z.iso.datetime({ error: 'must be an ISO 8601 date-time' }).optional(),
  result: z.unknown().optional(),
})

const listSchema = z.object({
  status: z.union([statusSchema, z.array(statusSchema)]).optional(),
  metadata: metadataFilterSchema.optional(),
  limit: z
    .number()
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .optional(),
  cursor: z.string().optional(),
})

const watchSchema = z.object({
  agentId: z.string().min(1).optional(),
  metadata: metadataFilterSchema.optional(),
})

/**
 * Validates `create` input; throws `InvalidOptionsError` naming the field. The text policy
 * (`text-policy.ts`) applies: agentId, agentType and metadata holding a NUL or a lone surrogate, a
 * metadata key `__proto__`, `constructor` or `prototype`, or an indexed metadata text over
 * `MAX_METADATA_TEXT_BYTES` are refused; metadata nested deeper than `MAX_JSON_DEPTH` is refused
 * with `ValueTooLargeError`; the message keeps U+FFFD for a NUL or lone surrogate. The metadata
 * returned is a JSON copy of the one given.
 */
export function validateCreateInput(input: CreateActivityInput): CreateActivityInput {
  const given = typeof input === 'object' && input !== null ? input.metadata : undefined
  // Before anything recursive touches it (JSON.stringify overflows the stack on deep nesting).
  if (typeof given === 'object' && given !== null) {
    assertJsonDepth(given, 'metadata', { subject: 'activity' })
  }
  const valid =
    simpleCreateInput(input) ?? (parseOrThrow(createSchema, input, 'activity') as CreateActivityInput)
  assertStorableText(valid.agentId, 'agentId', 'activity')
  assertStorableText(valid.agentType, 'agentType', 'activity')
  if (valid.metadata !== undefined) {
    // A copy of what was given, not of what the schema returned: parsing drops an own `__proto__`.
    const metadata = JSON.parse(JSON.stringify(given)) as unknown
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new InvalidOptionsError(
        [
          {
            field: 'metadata',
            message: 'must be an object whose JSON is an object (its toJSON returns another value)',
          },
        ],
        { subject: 'activity' },
      )
    }
    assertStorableMetadata(metadata as Record<string, unknown>, 'activity')
    valid.metadata = metadata as Record<string, unknown>
  }
  valid.message = storableText(redactSecrets(valid.message))
  return valid
}

const isIdString = (value: unknown) => typeof value === 'string' && value.length >= 1 && value.length <= 200

/** An object literal (or `Object.create(null)`) with string keys only. */
function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const prototype = Object.getPrototypeOf(value)
  return (
    (prototype === Object.prototype || prototype === null) && Object.getOwnPropertySymbols(value).length === 0
  )
}

/**
 * `create` input checked without the schema, in the shape the schema returns, when it is plainly
 * valid (the common case); `undefined` sends it through the schema, which names what is wrong.
 */
function simpleCreateInput(input: CreateActivityInput): CreateActivityInput | undefined {
  if (typeof input !== 'object' || input === null) return undefined
  const { agentId, agentType, message, metadata } = input
  if (!isIdString(agentId) || !isIdString(agentType) || typeof message !== 'string') return undefined
  const valid: CreateActivityInput = { agentId, agentType, message }
  if (metadata === undefined) return 'metadata' in input ? { ...valid, metadata } : valid
  if (!isPlainRecord(metadata)) return undefined
  try {
    JSON.stringify(metadata)
  } catch {
    return undefined
  }
  valid.metadata = metadata
  return valid
}

const STATUSES = new Set<unknown>(statusSchema.options)
const KINDS = new Set<unknown>(ACTIVITY_LOG_KINDS)

/**
 * `append` input checked without the schema when it is a plain entry (status, message,
 * percentage, attempt, kind, result): a new object with the keys given, as the schema returns it.
 * `undefined` for anything else (checkpoints, pending requests, a value to refuse): the schema
 * then checks it and names what is wrong.
 */
function simpleAppendInput(input: AppendActivityInput): AppendActivityInput | undefined {
  if (typeof input !== 'object' || input === null) return undefined
  const { status, message, percentage, attempt, kind } = input
  if (!STATUSES.has(status) || typeof message !== 'string') return undefined
  if (input.checkpoint !== undefined || input.pending !== undefined || input.expiresAt !== undefined)
    return undefined
  const valid: AppendActivityInput = { status, message }
  if (percentage !== undefined && percentage !== null) {
    if (!Number.isInteger(percentage) || percentage < 0 || percentage > 100) return undefined
    valid.percentage = percentage
  } else if ('percentage' in input) valid.percentage = percentage
  if (attempt !== undefined) {
    if (!Number.isInteger(attempt) || attempt < 1 || attempt > MAX_LOG_ATTEMPT) return undefined
    valid.attempt = attempt
  }
  if (kind !== undefined) {
    if (!KINDS.has(kind)) return undefined
    valid.kind = kind
  }
  if (input.result !== undefined) valid.result = input.result
  return valid
}

/**
 * Validates `append` input; throws `InvalidOptionsError` naming the field. `attempt` and `kind`
 * given as `undefined` are dropped, so they stay absent in what the store writes.
 */
export function validateAppendInput(input: AppendActivityInput): AppendActivityInput {
  const valid =
    simpleAppendInput(input) ?? (parseOrThrow(appendSchema, input, 'activity update') as AppendActivityInput)
  if (valid.attempt === undefined) delete valid.attempt
  if (valid.kind === undefined) delete valid.kind
  if (valid.checkpoint === undefined) delete valid.checkpoint
  else valid.checkpoint = validateCheckpointInput(valid.checkpoint, 'checkpoint')
  if (valid.expiresAt === undefined) delete valid.expiresAt
  if (valid.result === undefined) delete valid.result
  if (valid.pending === undefined) delete valid.pending
  const issues: { field: string; message: string }[] = []
  if (valid.status === 'waiting') {
    if (valid.pending === undefined)
      issues.push({
        field: 'pending',
        message: 'is required with status "waiting": say what the run waits for',
      })
    else valid.pending = validatePendingInput(valid.pending)
  } else {
    if (valid.pending !== undefined)
      issues.push({ field: 'pending', message: 'is only accepted with status "waiting"' })
    if (valid.expiresAt !== undefined)
      issues.push({ field: 'expiresAt', message: 'is only accepted with status "waiting"' })
  }
  if (valid.result !== undefined) {
    if (valid.status !== 'complete')
      issues.push({ field: 'result', message: 'is only accepted with status "complete"' })
    else valid.result = jsonOf(valid.result, 'result')
  }
  if (issues.length > 0) throw new InvalidOptionsError(issues, { subject: 'activity update' })
  valid.message = storableText(redactSecrets(valid.message))
  return valid
}

/**
 * The JSON text a store keeps for a trajectory, secrets redacted (`redactSecrets`), each NUL and
 * lone surrogate replaced by U+FFFD (`storableJsonText`); throws
 * `InvalidOptionsError` naming `trajectory` when it is not an object JSON can hold.
 */
export function encodeTrajectory(trajectory: Trajectory): string {
  if (typeof trajectory !== 'object' || trajectory === null || Array.isArray(trajectory)) {
    throw new InvalidOptionsError([{ field: 'trajectory', message: 'must be an object' }], {
      subject: 'trajectory',
    })
  }
  let json: string
  try {
    json = JSON.stringify(trajectory)
  } catch (error) {
    throw new InvalidOptionsError(
      [
        {
          field: 'trajectory',
          message: `must be JSON-serialisable (${errorMessage(error)})`,
        },
      ],
      { subject: 'trajectory' },
    )
  }
  return storableJsonText(redactJsonText(json))
}

/**
 * A log entry in the shape every store returns: `attempt` and `kind` are present only when set
 * (a store reading a `NULL` column passes `null`, which becomes an absent key).
 */
export function logEntryOf(fields: {
  status: ActivityStatus
  message: string
  percentage: number | null
  at: string
  attempt?: number | null | undefined
  kind?: ActivityLogKind | null | undefined
}): ActivityLogEntry {
  const entry: ActivityLogEntry = {
    status: fields.status,
    message: fields.message,
    percentage: fields.percentage,
    at: fields.at,
  }
  if (fields.attempt !== undefined && fields.attempt !== null) entry.attempt = fields.attempt
  if (fields.kind !== undefined && fields.kind !== null) entry.kind = fields.kind
  return entry
}

/** The first entry of every activity, written by `create`: queued, 0%, a lifecycle entry. */
export function queuedEntry(message: string, at: string): ActivityLogEntry {
  return { status: 'queued', message, percentage: 0, at, kind: 'lifecycle' }
}

/** What `create` throws, nothing written, when an activity with `agentId` exists already. */
export function duplicateActivityError(agentId: string): InvalidOptionsError {
  return new InvalidOptionsError(
    [{ field: 'agentId', message: `an activity with agentId "${agentId}" already exists; use a new id` }],
    { subject: 'activity' },
  )
}

/**
 * Validates `list` options; throws `InvalidOptionsError` naming the field. Its metadata filter is
 * checked as `validateMetadataFilter` checks one.
 */
export function validateListOptions(options: ListActivitiesOptions = {}): ListActivitiesOptions {
  if (typeof options === 'object' && options !== null) assertStorableFilter(options.metadata, 'list options')
  return parseOrThrow(listSchema, options, 'list options') as ListActivitiesOptions
}

/**
 * Validates a metadata filter (primitive values only). Refused, naming `metadata.<key>`: a key
 * `__proto__`, `constructor` or `prototype`, a NUL or lone surrogate in a key or string value, a
 * key or string value over `MAX_METADATA_TEXT_BYTES` (no metadata can hold what these ask for).
 */
export function validateMetadataFilter(filter: MetadataFilter | undefined): MetadataFilter | undefined {
  if (filter === undefined) return undefined
  assertStorableFilter(filter, 'metadata filter')
  return parseOrThrow(metadataFilterSchema, filter, 'metadata filter', 'metadata') as MetadataFilter
}

/** Validates a `watch` filter: its agentId as an id, its metadata as `validateMetadataFilter` does. */
export function validateWatchFilter(filter: WatchFilter = {}): WatchFilter {
  if (typeof filter === 'object' && filter !== null) assertStorableFilter(filter.metadata, 'watch filter')
  const valid = parseOrThrow(watchSchema, filter, 'watch filter') as WatchFilter
  if (valid.agentId !== undefined) assertStorableText(valid.agentId, 'agentId', 'watch filter')
  return valid
}

/** True when every key of `filter` is in `metadata` with a strictly equal value. */
export function matchesMetadata(
  metadata: Record<string, unknown>,
  filter: MetadataFilter | undefined,
): boolean {
  if (!filter) return true
  for (const [key, value] of Object.entries(filter)) {
    if (!Object.hasOwn(metadata, key) || metadata[key] !== value) return false
  }
  return true
}

/** Normalises the `status` option of `list` to an array (or undefined for all). */
export function statusList(status: ListActivitiesOptions['status']): ActivityStatus[] | undefined {
  if (status === undefined) return undefined
  return Array.isArray(status) ? status : [status]
}

/**
 * The sort key of the list order: unfinished (queued, running, waiting) first, then newest first. `seq` is the
 * store's creation sequence (a counter, a rowid, a bigserial), which orders activities created in
 * the same millisecond.
 */
export interface ListSortKey {
  active: 0 | 1
  seq: number
}

/** The list order's key: `active` is 1 for an unfinished activity (queued, running, waiting). */
export function sortKeyOf(status: ActivityStatus, seq: number): ListSortKey {
  return { active: isActiveStatus(status) ? 1 : 0, seq }
}

/** Orders by the list order: negative when `a` comes first. */
export function compareSortKeys(a: ListSortKey, b: ListSortKey): number {
  if (a.active !== b.active) return b.active - a.active
  return b.seq - a.seq
}

/** Encodes the last item's sort key as an opaque cursor. */
export function encodeCursor(key: ListSortKey): string {
  return Buffer.from(JSON.stringify([key.active, key.seq]), 'utf8').toString('base64url')
}

/** Decodes a cursor; throws `InvalidOptionsError` on `cursor` if it was not made by `encodeCursor`. */
export function decodeCursor(cursor: string): ListSortKey {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      (value[0] === 0 || value[0] === 1) &&
      Number.isSafeInteger(value[1])
    ) {
      return { active: value[0], seq: value[1] as number }
    }
  } catch {
    // fall through
  }
  throw new InvalidOptionsError(
    [{ field: 'cursor', message: 'is not a cursor returned by list(); pass nextCursor unchanged' }],
    { subject: 'list options' },
  )
}

let lastMs = -1
let lastIso = ''

/** Current time as an ISO string (formatted once per millisecond: hot paths call it often). */
export function nowIso(): string {
  const ms = Date.now()
  if (ms !== lastMs) {
    lastMs = ms
    lastIso = new Date(ms).toISOString()
  }
  return lastIso
}

/** Deep copy through JSON: what a store hands out can never be mutated from outside. */
export function cloneJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T)
}

/** Fields of a summary that one log entry changes. Every store applies entries through this. */
export function applyEntry(
  current: Pick<ActivitySummary, 'percentage' | 'startedAt' | 'finishedAt'>,
  entry: ActivityLogEntry,
): Pick<ActivitySummary, 'status' | 'message' | 'percentage' | 'updatedAt' | 'startedAt' | 'finishedAt'> {
  const next: Pick<
    ActivitySummary,
    'status' | 'message' | 'percentage' | 'updatedAt' | 'startedAt' | 'finishedAt'
  > = {
    status: entry.status,
    message: entry.message,
    percentage: entry.percentage ?? current.percentage,
    updatedAt: entry.at,
  }
  const startedAt = current.startedAt ?? (entry.status === 'running' ? entry.at : undefined)
  if (startedAt !== undefined) next.startedAt = startedAt
  const finishedAt = current.finishedAt ?? (isTerminalStatus(entry.status) ? entry.at : undefined)
  if (finishedAt !== undefined) next.finishedAt = finishedAt
  return next
}

/**
 * Checks a document table's key or namespace: a string of 1..1000 characters, without a NUL or a
 * lone surrogate (no store can keep them as given; the text policy refuses them in ids).
 */
export function validateDocumentKey(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1000) {
    throw new InvalidOptionsError([{ field, message: 'must be a string of 1 to 1000 characters' }], {
      subject: 'document',
    })
  }
  assertStorableText(value, field, 'document')
  return value
}

/**
 * The documents of a `putMany` as `[key, JSON text]` pairs, all checked before any is written:
 * `InvalidOptionsError` naming the field for a bad namespace or key, a value JSON cannot hold, or
 * a value over `limitBytes` (UTF-8 JSON). A key given twice keeps its last value.
 */
export function encodeDocuments(
  namespace: string,
  documents: StoredDocument[],
  limitBytes: number,
): Array<[key: string, text: string]> {
  validateDocumentKey(namespace, 'namespace')
  if (!Array.isArray(documents)) {
    throw new InvalidOptionsError([{ field: 'documents', message: 'must be an array of { key, value }' }], {
      subject: 'document',
    })
  }
  const encoded = new Map<string, string>()
  documents.forEach((document, index) => {
    const key = validateDocumentKey(
      (document as Partial<StoredDocument> | null)?.key,
      `documents.${index}.key`,
    )
    const field = `documents.${index}.value`
    const text = JSON.stringify(jsonOf(document.value, field, MAX_RECORD_DEPTH))
    const bytes = Buffer.byteLength(text, 'utf8')
    if (bytes > limitBytes) {
      throw new InvalidOptionsError(
        [
          {
            field,
            message: `is ${bytes.toLocaleString('en-US')} bytes as JSON, over the store's limit of ${limitBytes.toLocaleString('en-US')} bytes (maxRecordBytes); store less, or split it over several keys`,
          },
        ],
        { subject: 'document' },
      )
    }
    encoded.delete(key)
    encoded.set(key, text)
  })
  return [...encoded]
}

const listDocumentsSchema = z.object({
  prefix: z.string({ error: 'must be a string' }).optional(),
  before: z.string({ error: 'must be a string' }).optional(),
  reverse: z.boolean({ error: 'must be a boolean' }).optional(),
  limit: z
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .optional(),
})

/** Validates the options of `DocumentTable.list`, with their defaults applied. */
export function validateListDocumentsOptions(
  options: ListDocumentsOptions = {},
): Required<Pick<ListDocumentsOptions, 'prefix' | 'reverse'>> &
  Pick<ListDocumentsOptions, 'before' | 'limit'> {
  const valid = parseOrThrow(listDocumentsSchema, options, 'document list options')
  const result: Required<Pick<ListDocumentsOptions, 'prefix' | 'reverse'>> &
    Pick<ListDocumentsOptions, 'before' | 'limit'> = {
    prefix: valid.prefix ?? '',
    reverse: valid.reverse ?? false,
  }
  if (valid.before !== undefined) result.before = valid.before
  if (valid.limit !== undefined) result.limit = valid.limit
  return result
}

/** Checks the prefix of `DocumentTable.deletePrefix`: a string, `''` for the whole namespace. */
export function validateDocumentPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string') {
    throw new InvalidOptionsError(
      [{ field: 'prefix', message: "must be a string ('' deletes the whole namespace)" }],
      { subject: 'document' },
    )
  }
  return prefix
}
