import { isTerminalStatus } from '../activity/transitions.js'
import type {
  Checkpoint,
  CheckpointInput,
  DecisionInput,
  JournalEntry,
  JsonValue,
  PendingRequest,
  PendingRequestInput,
  RunRecord,
} from '../activity/types.js'
import { DecisionError } from '../errors/decision-error.js'
import { RunNotResumableError } from '../errors/run-not-resumable-error.js'
import type { ResumeState } from '../runner/types.js'
import { expireIfDue } from './decide.js'
import type { Execution } from './execution.js'

const suspensionMarker = Symbol.for('runner.RunSuspension')

/**
 * What `context.suspend` throws: not a failure, the end of an attempt that waits. The lifecycle
 * catches it and moves the activity to `waiting` with the checkpoint and the pending requests.
 */
export class RunSuspension extends Error {
  readonly [suspensionMarker] = true
  readonly requests: PendingRequestInput[]
  readonly state: JsonValue

  constructor(requests: PendingRequestInput[], state: JsonValue) {
    super(`The run is waiting for ${requests.map((request) => request.id).join(', ')}`)
    this.name = 'RunSuspension'
    this.requests = requests
    this.state = state
  }

  static isInstance(value: unknown): value is RunSuspension {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[suspensionMarker] === true
    )
  }
}

/** A suspension as the execution keeps it until the waiting status is written. */
export interface PendingSuspension {
  requests: PendingRequestInput[]
  checkpoint: CheckpointInput
  expiresAt?: string
}

/** What a run resumes from: the record read from the store, turned into the context's view. */
export interface LoadedResume {
  state: ResumeState
  checkpoint: Checkpoint
  journal: Map<string, JournalEntry>
}

/**
 * Reads what a run resumes from. `explicit` is a caller's `resume()` (refusals are errors); a
 * joined pool job that was redelivered resumes when a checkpoint exists and starts over otherwise.
 * Decisions given with the resume are recorded first (each through the store's atomic `decide`).
 */
export async function loadResume(
  execution: Execution,
  options: { explicit: boolean; runner: string; decisions?: Record<string, DecisionInput> },
): Promise<LoadedResume | undefined> {
  const { agentId, tracker } = execution
  const store = tracker.store
  let record = execution.resumeRecord ?? (await store.getRun(agentId))
  execution.resumeRecord = undefined
  if (!record) {
    if (!options.explicit) return undefined
    throw new RunNotResumableError(
      agentId,
      'not-found',
      `no activity has agentId "${agentId}". Check the id.`,
    )
  }
  if (isTerminalStatus(record.status)) {
    if (!options.explicit) return undefined
    throw new RunNotResumableError(
      agentId,
      'finished',
      `it already ended (${record.status}); a finished run cannot continue. Start a new run instead.`,
    )
  }
  await expireIfDue(tracker, record)
  if (options.decisions) {
    for (const [requestId, decision] of Object.entries(options.decisions)) {
      try {
        record = await store.decide(agentId, requestId, decision)
      } catch (error) {
        // Decided already with the same verdict (a retried resume): keep going.
        if (!(DecisionError.isInstance(error) && sameDecision(record, requestId, decision))) throw error
      }
    }
  }
  if (record.status === 'waiting') {
    const undecided = (record.pending ?? []).filter((request) => !request.decision)
    if (undecided.length > 0) {
      throw new RunNotResumableError(
        agentId,
        'undecided',
        `it still waits for ${undecided.map((request) => `"${request.id}" (${request.toolName ?? request.kind})`).join(', ')}. Approve, deny or respond to each first (runner.approve / deny / respond, or resume with { decisions }).`,
      )
    }
  }
  const checkpoint = record.checkpoint
  if (!checkpoint) {
    if (!options.explicit) return undefined
    throw new RunNotResumableError(
      agentId,
      'not-found',
      'no checkpoint was saved (it stopped before its first model answer, or it was not durable). Run it again with its input.',
    )
  }
  if (checkpoint.runner !== options.runner) {
    throw new RunNotResumableError(
      agentId,
      'mismatch',
      `its checkpoint was written by ${checkpoint.runner}, not ${options.runner}. Resume it with the runner that started it.`,
    )
  }
  return {
    checkpoint,
    journal: new Map(record.journal.map((entry) => [entry.toolCallId, entry])),
    state: {
      state: checkpoint.state,
      turn: checkpoint.turn,
      reason: record.status === 'waiting' ? 'decisions' : 'recovery',
      pending: record.pending ?? [],
    },
  }
}

function sameDecision(record: RunRecord, requestId: string, decision: DecisionInput): boolean {
  const existing = record.pending?.find((request) => request.id === requestId)?.decision
  return existing !== undefined && existing.type === decision.type
}

/** The log line of a resume: where it continues and why. */
export function resumeMessage(loaded: LoadedResume): string {
  const { state } = loaded
  if (state.reason === 'recovery') {
    return `Resumed from its checkpoint at turn ${state.turn} after the previous process stopped (the model call in flight is made again; journaled tool calls are not)`
  }
  return `Resumed at turn ${state.turn} with decisions: ${state.pending.map(describeDecision).join('; ')}`
}

function describeDecision(request: PendingRequest): string {
  const decision = request.decision
  const name = request.toolName ?? request.id
  if (!decision) return `${name} undecided`
  const by = decision.by ? ` by ${decision.by}` : ''
  const reason = 'reason' in decision && decision.reason ? ` (${decision.reason})` : ''
  switch (decision.type) {
    case 'approve':
      return `${name} approved${decision.input !== undefined ? ' with edited input' : ''}${by}${reason}`
    case 'deny':
      return `${name} denied${by}${reason}`
    default:
      return `${name} answered${by}`
  }
}

/** The `expiresAt` of a wait that starts now, for `approvalTimeoutMs`. */
export function expiryOf(approvalTimeoutMs: number | undefined): string | undefined {
  return approvalTimeoutMs === undefined ? undefined : new Date(Date.now() + approvalTimeoutMs).toISOString()
}

/** The message of the `waiting` entry. */
export function waitingMessage(requests: PendingRequestInput[]): string {
  const approvals = requests.filter((request) => request.kind === 'approval')
  const inputs = requests.length - approvals.length
  const parts: string[] = []
  if (approvals.length > 0)
    parts.push(`approval of ${approvals.map((request) => request.toolName ?? request.id).join(', ')}`)
  if (inputs > 0) parts.push(`${inputs} answer${inputs === 1 ? '' : 's'}`)
  return `Waiting for ${parts.join(' and ')}`
}
