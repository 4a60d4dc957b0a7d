import { isDeepStrictEqual } from 'node:util'
import type { RunnableConfig } from '@langchain/core/runnables'
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  copyCheckpoint,
  maxChannelVersion,
  type PendingWrite,
  type SerializerProtocol,
  TASKS,
  WRITES_IDX_MAP,
} from '@langchain/langgraph-checkpoint'
import { type ActivityStore, InvalidOptionsError } from '@runner/core'
import type { DocumentTable, JsonValue, StoredDocument } from '@runner/core/store'

/** Options of `new RunnerCheckpointSaver(store, options)`. */
export interface RunnerCheckpointSaverOptions {
  /**
   * The namespace of the store's document table the saver keeps its records in. Default
   * `langgraph`. Two savers on one store with different namespaces never see each other's threads.
   */
  namespace?: string
  /** How checkpoint values are serialized. Default: LangGraph's `JsonPlusSerializer`. */
  serde?: SerializerProtocol
}

/** A serialized value as stored: the serializer's type tag and the bytes in base64. */
interface StoredValue {
  t: string
  d: string
}

/** A checkpoint as stored: without its channel values (kept as blobs, one per channel version). */
interface StoredCheckpoint {
  parent: string | null
  checkpoint: StoredValue
  metadata: StoredValue
}

/** A pending write as stored. */
interface StoredWrite {
  task: string
  channel: string
  idx: number
  path: string
  value: StoredValue
}

/** A channel's value at one version, or `empty` for a channel that had a version but no value. */
type StoredBlob = StoredValue | { t: 'empty' }

const DEFAULT_NAMESPACE = 'langgraph'
/** Documents read per request while listing. */
const PAGE = 100
/** Checkpoints whose written pending-write keys a saver remembers (the most recently put). */
const REMEMBERED_CHECKPOINTS = 256

/** Escapes one key part so that the separator never appears in it (prefixes stay exact). */
function part(value: string): string {
  return value.replaceAll('%', '%25').replaceAll('|', '%7C')
}

function checkpointPrefix(thread?: string, ns?: string): string {
  if (thread === undefined) return 'c|'
  return ns === undefined ? `c|${part(thread)}|` : `c|${part(thread)}|${part(ns)}|`
}

function checkpointKey(thread: string, ns: string, id: string): string {
  return `${checkpointPrefix(thread, ns)}${part(id)}`
}

function blobKey(thread: string, ns: string, channel: string, version: string | number): string {
  return `b|${part(thread)}|${part(ns)}|${part(channel)}|${part(String(version))}`
}

function writesPrefix(thread: string, ns: string, id: string): string {
  return `w|${part(thread)}|${part(ns)}|${part(id)}|`
}

function unpart(value: string): string {
  return value.replaceAll('%7C', '|').replaceAll('%25', '%')
}

/** The thread, namespace and checkpoint id of a checkpoint's key. */
function parseCheckpointKey(key: string): { thread: string; ns: string; id: string } {
  const [, thread = '', ns = '', id = ''] = key.split('|')
  return { thread: unpart(thread), ns: unpart(ns), id: unpart(id) }
}

/** Strings by code point, as LangGraph orders a superstep's writes (`writesSortKey`). */
function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0
  const left = [...a]
  const right = [...b]
  for (let index = 0; index < Math.min(left.length, right.length); index++) {
    const x = left[index]?.codePointAt(0) ?? 0
    const y = right[index]?.codePointAt(0) ?? 0
    if (x !== y) return x < y ? -1 : 1
  }
  return left.length - right.length
}

function compareWrites(a: StoredWrite, b: StoredWrite): number {
  return compareCodePoints(a.path, b.path) || compareCodePoints(a.task, b.task) || a.idx - b.idx
}

function idOf(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string' || typeof value === 'number') return String(value)
  throw new InvalidOptionsError([{ field, message: 'must be a string' }], { subject: 'checkpoint config' })
}

function threadOf(config: RunnableConfig, operation: string): string {
  const thread = idOf(config.configurable?.thread_id, 'configurable.thread_id')
  if (thread === undefined) {
    throw new InvalidOptionsError(
      [
        {
          field: 'configurable.thread_id',
          message: `is required to ${operation}: pass { configurable: { thread_id } } so that the checkpointer knows which thread it is`,
        },
      ],
      { subject: 'checkpoint config' },
    )
  }
  return thread
}

function tableOf(store: ActivityStore | DocumentTable): DocumentTable {
  const candidate = store as Partial<ActivityStore & DocumentTable> | null | undefined
  if (candidate && typeof candidate.putMany === 'function' && typeof candidate.deletePrefix === 'function')
    return candidate as DocumentTable
  if (candidate && typeof candidate === 'object' && 'documents' in candidate && candidate.documents)
    return candidate.documents
  throw new InvalidOptionsError(
    [
      {
        field: 'store',
        message:
          'must be an activity store with a document table (store.documents: MemoryActivityStore, SqliteActivityStore, PostgresActivityStore) or a DocumentTable',
      },
    ],
    { subject: 'RunnerCheckpointSaver' },
  )
}

/**
 * A LangGraph checkpointer (`BaseCheckpointSaver`) whose records live in an activity store's
 * document table, beside the runs: one store for the run records and the graph's threads, in
 * memory, in SQLite or in PostgreSQL. `LangChainRunner` gives one over its own store to every
 * durable run of a graph that has no checkpointer of its own; use it directly like any other
 * checkpointer: `createAgent({ model, tools, checkpointer: new RunnerCheckpointSaver(store) })`.
 *
 * Records, by key (parts escaped so that `|` never appears inside one; keys sort in binary order,
 * and LangGraph's checkpoint ids are time-ordered UUIDv6, so key order is time order):
 * - `c|<thread>|<ns>|<checkpoint id>`: a checkpoint without its channel values, its metadata and
 *   its parent's id;
 * - `b|<thread>|<ns>|<channel>|<version>`: one channel's value at one version, written once when
 *   the version is new (a checkpoint stores only the channels that changed);
 * - `w|<thread>|<ns>|<checkpoint id>|<task id>|<index>`: a pending write of a task.
 *
 * Values go through the saver's `serde` (type tag and bytes, the bytes in base64 inside the JSON
 * document). A checkpoint and its new blobs are written in one transaction (`putMany`).
 */
export class RunnerCheckpointSaver extends BaseCheckpointSaver {
  /** The document table the records live in. */
  readonly documents: DocumentTable
  /** The table's namespace for this saver's records. */
  readonly namespace: string
  /**
   * The checkpoints this saver put most recently, by writes prefix, with the write keys stored
   * for them since: a checkpoint's id is new when LangGraph puts it, so it had no writes then,
   * and its writes need no read of the table to keep the first one at each index.
   */
  readonly #ownWrites = new Map<string, Set<string>>()

  constructor(store: ActivityStore | DocumentTable, options: RunnerCheckpointSaverOptions = {}) {
    super(options.serde)
    this.documents = tableOf(store)
    const namespace = options.namespace ?? DEFAULT_NAMESPACE
    if (typeof namespace !== 'string' || namespace.length === 0 || namespace.length > 1000) {
      throw new InvalidOptionsError(
        [{ field: 'namespace', message: 'must be a string of 1 to 1000 characters' }],
        {
          subject: 'RunnerCheckpointSaver options',
        },
      )
    }
    this.namespace = namespace
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const thread = idOf(config.configurable?.thread_id, 'configurable.thread_id')
    if (thread === undefined) return undefined
    const ns = idOf(config.configurable?.checkpoint_ns, 'configurable.checkpoint_ns') ?? ''
    const id = idOf(config.configurable?.checkpoint_id, 'configurable.checkpoint_id')
    if (id !== undefined) {
      const stored = await this.documents.get(this.namespace, checkpointKey(thread, ns, id))
      return stored === undefined
        ? undefined
        : this.#tuple(thread, ns, id, stored as unknown as StoredCheckpoint)
    }
    const [latest] = await this.documents.list(this.namespace, {
      prefix: checkpointPrefix(thread, ns),
      reverse: true,
      limit: 1,
    })
    if (!latest) return undefined
    return this.#tuple(
      thread,
      ns,
      parseCheckpointKey(latest.key).id,
      latest.value as unknown as StoredCheckpoint,
    )
  }

  /**
   * Checkpoints newest first: of one thread (`configurable.thread_id`) and namespace
   * (`configurable.checkpoint_ns`) when given, else of all; only `configurable.checkpoint_id`
   * when given; older than `options.before`; whose metadata has every key of `options.filter`
   * with an equal value; at most `options.limit`. Reads the table a page at a time.
   */
  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const thread = idOf(config.configurable?.thread_id, 'configurable.thread_id')
    const ns =
      thread === undefined
        ? undefined
        : idOf(config.configurable?.checkpoint_ns, 'configurable.checkpoint_ns')
    const onlyId = idOf(config.configurable?.checkpoint_id, 'configurable.checkpoint_id')
    const beforeId = idOf(options.before?.configurable?.checkpoint_id, 'before.configurable.checkpoint_id')
    const { filter } = options
    const namespaceFilter =
      thread === undefined
        ? idOf(config.configurable?.checkpoint_ns, 'configurable.checkpoint_ns')
        : undefined
    let remaining = options.limit ?? Number.POSITIVE_INFINITY
    if (remaining <= 0) return
    const prefix = checkpointPrefix(thread, ns)
    // Within one thread and namespace, `before` is a key bound; elsewhere it is checked per key.
    let before =
      thread !== undefined && ns !== undefined && beforeId !== undefined
        ? `${prefix}${part(beforeId)}`
        : undefined
    for (;;) {
      const page = await this.documents.list(this.namespace, {
        prefix,
        reverse: true,
        limit: PAGE,
        ...(before === undefined ? {} : { before }),
      })
      for (const document of page) {
        const key = parseCheckpointKey(document.key)
        if (onlyId !== undefined && key.id !== onlyId) continue
        if (beforeId !== undefined && !(key.id < beforeId)) continue
        if (namespaceFilter !== undefined && key.ns !== namespaceFilter) continue
        const stored = document.value as unknown as StoredCheckpoint
        if (filter && Object.keys(filter).length > 0) {
          const metadata = (await this.#load(stored.metadata)) as Record<string, unknown>
          if (!Object.entries(filter).every(([name, value]) => isDeepStrictEqual(metadata?.[name], value)))
            continue
        }
        yield await this.#tuple(key.thread, key.ns, key.id, stored)
        remaining--
        if (remaining <= 0) return
      }
      if (page.length < PAGE) return
      before = page.at(-1)?.key
    }
  }

  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    if (config.configurable === undefined) {
      throw new InvalidOptionsError(
        [{ field: 'configurable', message: 'is required: pass { configurable: { thread_id } }' }],
        { subject: 'checkpoint config' },
      )
    }
    const thread = threadOf(config, 'save a checkpoint')
    const ns = idOf(config.configurable.checkpoint_ns, 'configurable.checkpoint_ns') ?? ''
    const parent = idOf(config.configurable.checkpoint_id, 'configurable.checkpoint_id') ?? null
    // Read while the values are serialized: whether the checkpoint is new (it has no writes then).
    const isNew = this.documents.get(this.namespace, checkpointKey(thread, ns, checkpoint.id)).then(
      (found) => found === undefined,
      () => false,
    )
    const { channel_values: values, ...rest } = copyCheckpoint(checkpoint)
    const documents: StoredDocument[] = []
    for (const [channel, version] of Object.entries(newVersions)) {
      const blob: StoredBlob = Object.hasOwn(values, channel)
        ? await this.#dump(values[channel])
        : { t: 'empty' }
      documents.push({ key: blobKey(thread, ns, channel, version), value: blob as unknown as JsonValue })
    }
    const stored: StoredCheckpoint = {
      parent,
      checkpoint: await this.#dump({ ...rest, channel_values: {} }),
      metadata: await this.#dump(metadata),
    }
    documents.push({ key: checkpointKey(thread, ns, checkpoint.id), value: stored as unknown as JsonValue })
    const prefix = writesPrefix(thread, ns, checkpoint.id)
    this.#ownWrites.delete(prefix)
    // A checkpoint put again (the same id) may have writes already: those are read as before.
    const wasNew = await isNew
    await this.documents.putMany(this.namespace, documents)
    if (wasNew) {
      this.#ownWrites.set(prefix, new Set())
      if (this.#ownWrites.size > REMEMBERED_CHECKPOINTS) {
        const [oldest] = this.#ownWrites.keys()
        if (oldest !== undefined) this.#ownWrites.delete(oldest)
      }
    }
    return { configurable: { thread_id: thread, checkpoint_ns: ns, checkpoint_id: checkpoint.id } }
  }

  /**
   * Stores a task's writes against a checkpoint. A write at an index already stored for the task
   * is kept (the first one wins), except LangGraph's special writes (errors, interrupts, resume
   * values), which replace the previous one.
   */
  async putWrites(
    config: RunnableConfig,
    writes: PendingWrite[],
    taskId: string,
    taskPath = '',
  ): Promise<void> {
    const thread = threadOf(config, 'save writes')
    const ns = idOf(config.configurable?.checkpoint_ns, 'configurable.checkpoint_ns') ?? ''
    const id = idOf(config.configurable?.checkpoint_id, 'configurable.checkpoint_id')
    if (id === undefined) {
      throw new InvalidOptionsError(
        [
          {
            field: 'configurable.checkpoint_id',
            message: 'is required to save writes: they belong to a checkpoint',
          },
        ],
        { subject: 'checkpoint config' },
      )
    }
    const checkpointWrites = writesPrefix(thread, ns, id)
    const prefix = `${checkpointWrites}${part(taskId)}|`
    // The keys written so far: remembered for a checkpoint this saver put, else read.
    const own = this.#ownWrites.get(checkpointWrites)
    const existing =
      own ?? new Set((await this.documents.list(this.namespace, { prefix })).map((document) => document.key))
    const documents: StoredDocument[] = []
    for (const [index, [channel, value]] of writes.entries()) {
      const idx = WRITES_IDX_MAP[channel] ?? index
      const key = `${prefix}${idx}`
      if (idx >= 0 && existing.has(key)) continue
      // Claimed before the write: a concurrent call for the same task and index keeps the first.
      own?.add(key)
      const write: StoredWrite = {
        task: taskId,
        channel,
        idx,
        path: taskPath,
        value: await this.#dump(value),
      }
      documents.push({ key, value: write as unknown as JsonValue })
    }
    if (documents.length === 0) return
    try {
      await this.documents.putMany(this.namespace, documents)
    } catch (error) {
      for (const document of documents) own?.delete(document.key)
      throw error
    }
  }

  async deleteThread(threadId: string): Promise<void> {
    const thread = idOf(threadId, 'threadId')
    if (thread === undefined) return
    const writes = `w|${part(thread)}|`
    for (const prefix of this.#ownWrites.keys()) if (prefix.startsWith(writes)) this.#ownWrites.delete(prefix)
    // Checkpoints first: a thread half deleted has no checkpoint left to read.
    await this.documents.deletePrefix(this.namespace, checkpointPrefix(thread))
    await this.documents.deletePrefix(this.namespace, `w|${part(thread)}|`)
    await this.documents.deletePrefix(this.namespace, `b|${part(thread)}|`)
  }

  async #tuple(thread: string, ns: string, id: string, stored: StoredCheckpoint): Promise<CheckpointTuple> {
    const checkpoint = (await this.#load(stored.checkpoint)) as Checkpoint
    checkpoint.channel_values = await this.#channelValues(thread, ns, checkpoint.channel_versions ?? {})
    if (checkpoint.v < 4 && stored.parent !== null)
      await this.#migratePendingSends(checkpoint, thread, ns, stored.parent)
    const writes = await this.#writes(thread, ns, id)
    const tuple: CheckpointTuple = {
      config: { configurable: { thread_id: thread, checkpoint_ns: ns, checkpoint_id: id } },
      checkpoint,
      metadata: (await this.#load(stored.metadata)) as CheckpointMetadata,
      pendingWrites: await Promise.all(
        writes.map(
          async (write): Promise<CheckpointPendingWrite> => [
            write.task,
            write.channel,
            await this.#load(write.value),
          ],
        ),
      ),
    }
    if (stored.parent !== null)
      tuple.parentConfig = {
        configurable: { thread_id: thread, checkpoint_ns: ns, checkpoint_id: stored.parent },
      }
    return tuple
  }

  /** The values of the channels at their versions (a channel without a stored value is left out). */
  async #channelValues(
    thread: string,
    ns: string,
    versions: ChannelVersions,
  ): Promise<Record<string, unknown>> {
    const entries = await Promise.all(
      Object.entries(versions).map(async ([channel, version]) => {
        const blob = (await this.documents.get(this.namespace, blobKey(thread, ns, channel, version))) as
          | StoredBlob
          | undefined
        if (!blob || blob.t === 'empty') return undefined
        return [channel, await this.#load(blob as StoredValue)] as const
      }),
    )
    return Object.fromEntries(entries.filter((entry) => entry !== undefined))
  }

  /** A checkpoint's pending writes in LangGraph's order: task path, task id, index. */
  async #writes(thread: string, ns: string, id: string): Promise<StoredWrite[]> {
    const documents = await this.documents.list(this.namespace, { prefix: writesPrefix(thread, ns, id) })
    return documents.map((document) => document.value as unknown as StoredWrite).sort(compareWrites)
  }

  /** Checkpoints before format 4 kept pending sends as the parent's writes: they become the `TASKS` channel. */
  async #migratePendingSends(
    checkpoint: Checkpoint,
    thread: string,
    ns: string,
    parent: string,
  ): Promise<void> {
    const sends = (await this.#writes(thread, ns, parent)).filter((write) => write.channel === TASKS)
    checkpoint.channel_values[TASKS] = await Promise.all(sends.map((write) => this.#load(write.value)))
    const versions = Object.values(checkpoint.channel_versions)
    checkpoint.channel_versions[TASKS] =
      versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined)
  }

  async #dump(value: unknown): Promise<StoredValue> {
    const [type, bytes] = await this.serde.dumpsTyped(value)
    return { t: type, d: Buffer.from(bytes).toString('base64') }
  }

  async #load(value: StoredValue): Promise<unknown> {
    return this.serde.loadsTyped(value.t, new Uint8Array(Buffer.from(value.d, 'base64')))
  }
}
