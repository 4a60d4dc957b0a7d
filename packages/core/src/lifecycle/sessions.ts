import { randomBytes } from 'node:crypto'
import type { ActivityStore, DocumentTable, JsonValue, StoredDocument } from '../activity/types.js'
import { CapabilityUnsupportedError } from '../errors/capability-unsupported-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'

/** The documents namespace that holds the messages of every session. */
export const SESSION_NAMESPACE = 'runner.sessions'

/**
 * A conversation carried across runs (`RunOptions.session`): the framework's own messages, kept in
 * the runner's store, loaded before the run and appended when it completes.
 */
export interface RunSession {
  /** The session's id (1..200 characters), unique within its tenant. */
  id: string
  /**
   * Whose session it is (1..200 characters). A run with another tenant (or none) never sees it:
   * the tenant is part of every storage key. Default: none (a session of no tenant).
   */
  tenant?: string
  /** How much of the session a run sees. Default: all of it. */
  keep?: {
    /**
     * The last turns a run sees (a turn: one run of the session, its input and what followed).
     * Older turns are deleted when the next run loads the session, or replaced by a summary when
     * `summarize` is given.
     */
    lastTurns?: number
  }
  /**
   * Replaces the turns older than `keep.lastTurns` by messages of your own (a summary, in the
   * framework's message shape), stored in their place: the next runs see the summary, then the
   * last turns. It receives the older messages (an earlier summary first) and may call a model.
   * Needs `keep.lastTurns`.
   */
  summarize?: (messages: JsonValue[], info: SessionSummaryInfo) => JsonValue[] | Promise<JsonValue[]>
}

/** What `RunSession.summarize` is told besides the messages. */
export interface SessionSummaryInfo {
  id: string
  tenant?: string
  /** How many turns the messages hold (an earlier summary counts as one). */
  turns: number
}

/**
 * What a runner supplies for sessions (`BaseAgentRunner.sessions`): how its framework's messages
 * go before a run's input, and which messages a complete run holds. Messages are JSON (as stored).
 */
export interface SessionCodec<TInput, TOutput> {
  /**
   * The input of a run that continues the session (a `TInput`, given to `execute`): `history` (the
   * stored messages, oldest first), then what the run's own `input` says. Throw
   * `InvalidOptionsError` (field `input` or `session`) for an input that cannot follow a
   * conversation. `agent` is the run's agent, for a framework whose input shape depends on it.
   * (Typed `unknown` so that a runner stays assignable to a base of a narrower input.)
   */
  continueFrom(history: JsonValue[], input: TInput, agent: unknown): unknown
  /**
   * The whole conversation of a complete run as JSON messages, starting with the ones it was given
   * (`continueFrom`'s history, then the input). The lifecycle stores what follows the history.
   */
  conversation(input: TInput, output: TOutput): JsonValue[]
}

/** One stored document of a session: a turn's messages, or the summary of the turns before. */
interface StoredTurn {
  messages: JsonValue[]
  /** True for a summary written by `summarize`. */
  summary?: true
  /** The run that added the turn. */
  agentId?: string
  at: string
}

const maxIdLength = 200
/** The most characters of an id or tenant once URI-encoded: the two fit a document key (1000) with the turn's stamp. */
const maxEncodedLength = 450

/** Whether `value` is an id or tenant the session can store: 1..200 characters, 450 once URI-encoded. */
function isKeyPart(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= maxIdLength &&
    encodeURIComponent(value).length <= maxEncodedLength
  )
}

const keyPartMessage = `must be a string of 1 to ${maxIdLength} characters (at most ${maxEncodedLength} once URI-encoded: a character beyond ASCII counts 6 to 12)`

function invalid(field: string, message: string): InvalidOptionsError {
  return new InvalidOptionsError([{ field, message }], { subject: 'run options' })
}

/** Checks `RunOptions.session`; throws `InvalidOptionsError` naming the field. */
export function checkSession(session: unknown): asserts session is RunSession {
  if (typeof session !== 'object' || session === null || Array.isArray(session)) {
    throw invalid('session', 'must be { id, tenant?, keep?: { lastTurns? }, summarize? }')
  }
  const { id, tenant, keep, summarize, ...rest } = session as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) throw invalid(`session.${unknown}`, 'is not an option of a session')
  if (!isKeyPart(id)) throw invalid('session.id', keyPartMessage)
  if (tenant !== undefined && !isKeyPart(tenant)) throw invalid('session.tenant', keyPartMessage)
  let lastTurns: unknown
  if (keep !== undefined) {
    if (typeof keep !== 'object' || keep === null || Array.isArray(keep)) {
      throw invalid('session.keep', 'must be { lastTurns? }')
    }
    const { lastTurns: given, ...other } = keep as Record<string, unknown>
    const extra = Object.keys(other)[0]
    if (extra !== undefined) throw invalid(`session.keep.${extra}`, 'is not an option of session.keep')
    if (given !== undefined && !(Number.isSafeInteger(given) && (given as number) > 0)) {
      throw invalid('session.keep.lastTurns', 'must be a positive integer')
    }
    lastTurns = given
  }
  if (summarize !== undefined) {
    if (typeof summarize !== 'function') throw invalid('session.summarize', 'must be a function')
    if (lastTurns === undefined) {
      throw invalid(
        'session.summarize',
        'needs session.keep.lastTurns: the turns older than the last ones are summarized',
      )
    }
  }
}

/** The documents of `store`, or `CapabilityUnsupportedError` naming `session`. */
export function sessionDocuments(store: ActivityStore): DocumentTable {
  const documents = store.documents
  if (!documents) {
    throw new CapabilityUnsupportedError(
      'session',
      `the runner's store (${store.constructor.name}) keeps no documents, where sessions are stored; use MemoryActivityStore, SqliteActivityStore or PostgresActivityStore.`,
    )
  }
  return documents
}

/**
 * The key prefix of a session: its tenant and id, each URI-encoded, so that no tenant's prefix is
 * another's (`a/b` + `c` and `a` + `b/c` differ), and a session never sees another's turns.
 */
function prefixOf(session: RunSession): string {
  return `${session.tenant === undefined ? '-' : `t:${encodeURIComponent(session.tenant)}`}/${encodeURIComponent(session.id)}/`
}

const stampWidth = 15
/** The last stamp this process gave a turn: turns appended here sort in the order of their append. */
let lastStamp = 0

/**
 * A turn's key suffix: a stamp (ms, fixed width) above both the clock and the session's newest
 * turn, then random (two processes that append in the same instant both keep their turn).
 */
function turnKey(newest: string | undefined): string {
  const newestStamp = newest === undefined ? 0 : Number(newest.slice(0, stampWidth)) || 0
  lastStamp = Math.max(Date.now(), lastStamp + 1, newestStamp + 1)
  return `${String(lastStamp).padStart(stampWidth, '0')}-${randomBytes(8).toString('hex')}`
}

function isStoredTurn(value: JsonValue | undefined): value is StoredTurn & JsonValue {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Array.isArray((value as { messages?: unknown }).messages)
  )
}

/** A session opened for one run: the messages it starts from, and how to append its own. */
export interface OpenedSession {
  /** The stored messages the run continues (the summary first, if any). */
  history: JsonValue[]
  /** Appends the messages a complete run added, as one turn. */
  append(messages: JsonValue[], agentId: string): Promise<void>
}

/**
 * Loads a session for a run: its turns in order, the policy applied (`keep.lastTurns` deletes or
 * summarizes older turns in the store), and an `append` for the run's own messages.
 */
export async function openSession(documents: DocumentTable, session: RunSession): Promise<OpenedSession> {
  const prefix = prefixOf(session)
  let turns = (await documents.list(SESSION_NAMESPACE, { prefix })).filter(
    (document): document is StoredDocument & { value: StoredTurn & JsonValue } =>
      isStoredTurn(document.value),
  )
  const lastTurns = session.keep?.lastTurns
  if (lastTurns !== undefined && turns.length > lastTurns) {
    const older = turns.slice(0, turns.length - lastTurns)
    const kept = turns.slice(turns.length - lastTurns)
    // The older turns' place: a summary takes the key of the newest of them (it sorts before the kept ones).
    const newest = older.at(-1) as StoredDocument
    if (session.summarize) {
      const summary = await session.summarize(
        older.flatMap((turn) => turn.value.messages),
        {
          id: session.id,
          ...(session.tenant === undefined ? {} : { tenant: session.tenant }),
          turns: older.length,
        },
      )
      if (!Array.isArray(summary)) {
        throw invalid('session.summarize', 'must return a list of messages (JSON, in the framework’s shape)')
      }
      const value: StoredTurn = { messages: summary, summary: true, at: new Date().toISOString() }
      await documents.put(SESSION_NAMESPACE, newest.key, value as unknown as JsonValue)
      for (const turn of older.slice(0, -1)) await documents.deletePrefix(SESSION_NAMESPACE, turn.key)
      turns = [{ key: newest.key, value: value as StoredTurn & JsonValue }, ...kept]
    } else {
      for (const turn of older) await documents.deletePrefix(SESSION_NAMESPACE, turn.key)
      turns = kept
    }
  }
  return {
    history: turns.flatMap((turn) => turn.value.messages),
    async append(messages, agentId) {
      const value: StoredTurn = { messages, agentId, at: new Date().toISOString() }
      const [newest] = await documents.list(SESSION_NAMESPACE, { prefix, reverse: true, limit: 1 })
      const key = prefix + turnKey(newest?.key.slice(prefix.length))
      await documents.put(SESSION_NAMESPACE, key, value as unknown as JsonValue)
    },
  }
}

/**
 * The messages of a session as a run would see them (with no policy applied), for an application
 * that shows a conversation. Empty for an unknown session.
 */
export async function readSession(
  store: ActivityStore,
  session: Pick<RunSession, 'id' | 'tenant'>,
): Promise<JsonValue[]> {
  checkSession({ id: session.id, ...(session.tenant === undefined ? {} : { tenant: session.tenant }) })
  const turns = await sessionDocuments(store).list(SESSION_NAMESPACE, { prefix: prefixOf(session) })
  return turns.flatMap((turn) => (isStoredTurn(turn.value) ? turn.value.messages : []))
}

/** Deletes a session (every turn and summary); resolves with how many turns were deleted. */
export async function deleteSession(
  store: ActivityStore,
  session: Pick<RunSession, 'id' | 'tenant'>,
): Promise<number> {
  checkSession({ id: session.id, ...(session.tenant === undefined ? {} : { tenant: session.tenant }) })
  return sessionDocuments(store).deletePrefix(SESSION_NAMESPACE, prefixOf(session))
}
