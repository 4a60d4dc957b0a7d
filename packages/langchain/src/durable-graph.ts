import type { RunnableConfig } from '@langchain/core/runnables'
import type { BaseCheckpointSaver, CheckpointTuple } from '@langchain/langgraph-checkpoint'
import { InvalidOptionsError, type RunContext, RunNotResumableError } from '@runner/core'
import { deniedToolText } from '@runner/core/adapter'
import type { Decision, JsonValue, PendingRequestInput } from '@runner/core/store'
import type { LangChainAgent } from './agent.js'
import { messageTypeOf } from './message-content.js'

/** LangGraph's config key of the checkpointer a graph is lent for one call (its own wins when set). */
const LENT_CHECKPOINTER = '__pregel_checkpointer'
/** The channel of the resume values LangGraph records against an interrupted checkpoint. */
const RESUME_CHANNEL = '__resume__'

/** A decision of LangChain's human-in-the-loop middleware. */
type HitlDecision =
  | { type: 'approve' }
  | { type: 'edit'; editedAction: { name: string; args: Record<string, unknown> } }
  | { type: 'reject'; message: string }

/** The value `humanInTheLoopMiddleware` interrupts with. */
interface HitlRequest {
  actionRequests: Array<{ name: string; args: Record<string, unknown>; description?: string }>
  reviewConfigs: Array<{ actionName: string; allowedDecisions: string[] }>
}

/** One interrupt a suspended run waits on, and the requests that answer it. */
type InterruptRecord =
  | {
      id: string
      kind: 'approvals'
      /** The tool calls of a human-in-the-loop interrupt, in its order. */
      requests: Array<{ id: string; toolName: string; allowed: string[] }>
    }
  | { id: string; kind: 'input'; request: string }

/** What a durable LangGraph run checkpoints in the run record (the graph's state is in its thread). */
export interface GraphRunState {
  /** The LangGraph thread the run's graph state lives in. */
  thread: string
  /** The thread's latest checkpoint id when the run started (`null`: a new thread). */
  from: string | null
  /** While waiting: the thread's checkpoint the graph was interrupted at. */
  at?: string
  /** While waiting: the interrupts and the requests that answer them. */
  interrupts?: InterruptRecord[]
}

/** An interrupt as a graph returns it under `__interrupt__`. */
interface GraphInterrupt {
  id?: string
  value?: unknown
}

/** The graph under bindings (`withConfig`, `bind`): what has `getState` and a `checkpointer`. */
function graphOf(agent: LangChainAgent): { checkpointer?: unknown } | undefined {
  let current: unknown = agent
  for (let depth = 0; depth < 10 && typeof current === 'object' && current !== null; depth++) {
    const candidate = current as { getState?: unknown; bound?: unknown }
    if (typeof candidate.getState === 'function') return candidate as { checkpointer?: unknown }
    current = candidate.bound
  }
  return undefined
}

/** The `thread_id` a user gave the agent (`agent.withConfig({ configurable: { thread_id } })`), if any. */
function configuredThreadOf(agent: LangChainAgent): string | undefined {
  let current: unknown = agent
  for (let depth = 0; depth < 10 && typeof current === 'object' && current !== null; depth++) {
    const node = current as { config?: RunnableConfig; bound?: unknown; graph?: unknown }
    const thread = node.config?.configurable?.thread_id
    if (typeof thread === 'string' || typeof thread === 'number') return String(thread)
    current = node.bound ?? node.graph
  }
  return undefined
}

function isSaver(value: unknown): value is BaseCheckpointSaver {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as BaseCheckpointSaver).getTuple === 'function' &&
    typeof (value as BaseCheckpointSaver).put === 'function'
  )
}

function isHitlRequest(value: unknown): value is HitlRequest {
  const request = value as Partial<HitlRequest> | null
  return (
    typeof request === 'object' &&
    request !== null &&
    Array.isArray(request.actionRequests) &&
    Array.isArray(request.reviewConfigs) &&
    request.actionRequests.length === request.reviewConfigs.length
  )
}

function jsonOf(value: unknown): JsonValue {
  if (value === undefined) return null
  try {
    return JSON.parse(JSON.stringify(value)) as JsonValue
  } catch {
    return String(value)
  }
}

/** The interrupts of a graph's result (`invoke` and the streamed output both carry `__interrupt__`). */
export function interruptsOf(output: unknown): GraphInterrupt[] {
  if (typeof output !== 'object' || output === null) return []
  const interrupts = (output as { __interrupt__?: unknown }).__interrupt__
  return Array.isArray(interrupts) ? (interrupts as GraphInterrupt[]) : []
}

/**
 * A durable run of a LangGraph graph (a `createAgent` agent, a compiled graph): the thread its
 * state lives in, the checkpointer that keeps it (the graph's own, else the one the runner lends
 * it), and the translation between LangGraph's interrupts and the run's pending requests.
 */
export class DurableGraphRun {
  readonly context: RunContext
  readonly checkpointer: BaseCheckpointSaver
  readonly state: GraphRunState
  /** Whether the checkpointer is lent to the graph for the call (the graph has none of its own). */
  readonly #lent: boolean
  /** The thread's latest checkpoint id when `open` read it (a run's first attempt), else `undefined`. */
  readonly #latestRead: string | null | undefined

  private constructor(
    context: RunContext,
    checkpointer: BaseCheckpointSaver,
    lent: boolean,
    state: GraphRunState,
    latestRead: string | null | undefined,
  ) {
    this.context = context
    this.checkpointer = checkpointer
    this.#lent = lent
    this.state = state
    this.#latestRead = latestRead
  }

  /**
   * The durable side of a run of `agent`, or `undefined` when it has none: the run is not durable,
   * the agent is not a graph (a chain, a chat model), the graph was compiled with
   * `checkpointer: false`, or it has no checkpointer and the runner has none to lend (a store
   * without a document table). A resumed run whose agent cannot continue is refused.
   */
  static async open(
    context: RunContext,
    agent: LangChainAgent,
    lendable: BaseCheckpointSaver | undefined,
    startedFrom: Map<string, string | null>,
  ): Promise<DurableGraphRun | undefined> {
    const resumed = context.resumed?.state as unknown as GraphRunState | undefined
    const refuse = (why: string): never => {
      throw new RunNotResumableError(context.agentId, 'mismatch', why)
    }
    if (!context.durable) {
      if (resumed) refuse('the run is resumed with durable: false; resume it durably')
      return undefined
    }
    const graph = graphOf(agent)
    const own = graph?.checkpointer
    const checkpointer = isSaver(own) ? own : own === false ? undefined : lendable
    if (!graph || !checkpointer) {
      if (resumed)
        refuse(
          !graph
            ? 'the agent given to resume it is not a LangGraph graph (a createAgent agent or a compiled graph): only a graph keeps the state a run continues from'
            : 'the graph has no checkpointer (compiled with checkpointer: false, or the store has no document table to lend one)',
        )
      return undefined
    }
    const thread = resumed?.thread ?? configuredThreadOf(agent) ?? context.agentId
    let from: string | null
    let latestRead: string | null | undefined
    if (resumed) {
      from = resumed.from
    } else if (startedFrom.has(context.agentId)) {
      from = startedFrom.get(context.agentId) ?? null
    } else {
      from = (await latestOf(checkpointer, thread))?.checkpoint.id ?? null
      latestRead = from
      startedFrom.set(context.agentId, from)
    }
    return new DurableGraphRun(context, checkpointer, !isSaver(own), { thread, from }, latestRead)
  }

  /** The config the call adds: the thread, the lent checkpointer, and checkpoints written before each next step. */
  config(): { configurable: Record<string, unknown>; durability: 'sync' } {
    return {
      configurable: {
        thread_id: this.state.thread,
        ...(this.#lent ? { [LENT_CHECKPOINTER]: this.checkpointer } : {}),
      },
      durability: 'sync',
    }
  }

  /**
   * What the graph is invoked with: the run's input on a thread this run has not written to yet;
   * `null` to continue the thread where this run left it (a retry, a recovery); a `Command` with
   * the resume values when the run resumes with decisions on the checkpoint it waited at.
   */
  async input(given: () => unknown, hasInput: boolean): Promise<unknown> {
    const { context, state } = this
    // Read by open() on a run's first attempt (not resumed): nothing has written to the thread since.
    const latest =
      this.#latestRead === undefined ? await latestOf(this.checkpointer, state.thread) : undefined
    const latestId = this.#latestRead === undefined ? (latest?.checkpoint.id ?? null) : this.#latestRead
    const resumed = context.resumed
    const waited = resumed?.state as unknown as GraphRunState | undefined
    if (
      resumed?.reason === 'decisions' &&
      waited?.interrupts &&
      latestId === waited.at &&
      !latest?.pendingWrites?.some((write) => write[1] === RESUME_CHANNEL)
    ) {
      const { Command } = await import('@langchain/langgraph')
      return new Command({ resume: this.#resumeValues(waited.interrupts) })
    }
    if (latestId !== state.from) return null
    if (!hasInput) {
      throw new RunNotResumableError(
        context.agentId,
        'not-found',
        'its graph saved no step before its process stopped, and a resume has no input to start from: run it again with its input',
      )
    }
    return given()
  }

  /** Saves the run record's checkpoint: where the graph's state is (the lifecycle adds turn and usage). */
  checkpoint(): Promise<void> {
    return this.context.checkpoint(this.state as unknown as JsonValue)
  }

  /**
   * Suspends the run on the graph's interrupts: a human-in-the-loop interrupt of `langchain`'s
   * middleware becomes one approval request per tool call (its id the call's), any other
   * interrupt a request for a value (its id the interrupt's). Never returns.
   */
  async suspend(interrupts: GraphInterrupt[], output: unknown): Promise<never> {
    const requests: PendingRequestInput[] = []
    const records: InterruptRecord[] = []
    const toolCalls = lastToolCallsOf(output)
    for (const [position, interrupt] of interrupts.entries()) {
      const id = typeof interrupt.id === 'string' ? interrupt.id : `interrupt-${position}`
      if (isHitlRequest(interrupt.value)) {
        const { actionRequests, reviewConfigs } = interrupt.value
        const calls: Array<{ id: string; toolName: string; allowed: string[] }> = []
        for (const [index, action] of actionRequests.entries()) {
          const callId = takeToolCall(toolCalls, action) ?? `${id}:${index}`
          const allowed = reviewConfigs[index]?.allowedDecisions ?? []
          calls.push({ id: callId, toolName: action.name, allowed })
          requests.push({
            id: callId,
            kind: 'approval',
            toolName: action.name,
            input: jsonOf(action.args),
            payload: jsonOf({ description: action.description, allowedDecisions: allowed }),
          })
        }
        records.push({ id, kind: 'approvals', requests: calls })
      } else {
        requests.push({ id, kind: 'input', payload: jsonOf(interrupt.value) })
        records.push({ id, kind: 'input', request: id })
      }
    }
    const at = (await latestOf(this.checkpointer, this.state.thread))?.checkpoint.id
    const state: GraphRunState = { ...this.state, ...(at ? { at } : {}), interrupts: records }
    return this.context.suspend(requests, state as unknown as JsonValue)
  }

  /** The resume value of each interrupt, by interrupt id, from the decisions. */
  #resumeValues(interrupts: InterruptRecord[]): Record<string, unknown> {
    const decisionOf = (requestId: string): Decision => {
      const decision = this.context.decision(requestId)
      if (!decision) {
        throw new RunNotResumableError(this.context.agentId, 'undecided', `"${requestId}" has no decision`)
      }
      return decision
    }
    const values: Record<string, unknown> = {}
    for (const record of interrupts) {
      if (record.kind === 'input') {
        const decision = decisionOf(record.request)
        values[record.id] = decision.type === 'respond' ? decision.value : decision.type === 'approve'
        continue
      }
      values[record.id] = {
        decisions: record.requests.map((request) => hitlDecisionOf(request, decisionOf(request.id))),
      }
    }
    return values
  }
}

/** A decision in the middleware's terms, refused when the tool's `allowedDecisions` do not have it. */
function hitlDecisionOf(
  request: { id: string; toolName: string; allowed: string[] },
  decision: Decision,
): HitlDecision {
  const refuse = (field: string, what: string): never => {
    throw new InvalidOptionsError(
      [
        {
          field: `decisions.${request.id}${field}`,
          message: `the human-in-the-loop middleware does not allow ${what} for tool "${request.toolName}" (allowedDecisions: ${request.allowed.join(', ') || 'none'})`,
        },
      ],
      { subject: 'decision' },
    )
  }
  if (decision.type === 'deny') {
    if (!request.allowed.includes('reject')) refuse('', 'a rejection')
    return { type: 'reject', message: deniedToolText(decision.reason || 'a person denied it') }
  }
  if (decision.type === 'approve' && decision.input !== undefined) {
    if (!request.allowed.includes('edit')) refuse('.input', 'an edited input')
    const args = decision.input
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      throw new InvalidOptionsError(
        [
          {
            field: `decisions.${request.id}.input`,
            message: `must be an object: the arguments of tool "${request.toolName}"`,
          },
        ],
        { subject: 'decision' },
      )
    }
    return { type: 'edit', editedAction: { name: request.toolName, args } }
  }
  if (!request.allowed.includes('approve')) refuse('', 'an approval as it is')
  return { type: 'approve' }
}

/** The latest checkpoint of a thread's root namespace. */
function latestOf(checkpointer: BaseCheckpointSaver, thread: string): Promise<CheckpointTuple | undefined> {
  return checkpointer.getTuple({ configurable: { thread_id: thread, checkpoint_ns: '' } })
}

/** The tool calls of the last AI message of a graph's state (`{ messages }`), not yet matched to a request. */
function lastToolCallsOf(
  output: unknown,
): Array<{ id?: string; name: string; args: unknown; used?: boolean }> {
  const messages = (output as { messages?: unknown } | null)?.messages
  if (!Array.isArray(messages)) return []
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index]
    if (messageTypeOf(message) !== 'ai') continue
    const calls = (message as { tool_calls?: Array<{ id?: string; name: string; args: unknown }> }).tool_calls
    return (calls ?? []).map((call) => ({ ...call }))
  }
  return []
}

/** The id of the tool call an action request is about: the first unmatched call with its name and arguments. */
function takeToolCall(
  calls: Array<{ id?: string; name: string; args: unknown; used?: boolean }>,
  action: { name: string; args: unknown },
): string | undefined {
  const same = (call: (typeof calls)[number]) =>
    !call.used && call.name === action.name && typeof call.id === 'string'
  const found =
    calls.find((call) => same(call) && JSON.stringify(call.args) === JSON.stringify(action.args)) ??
    calls.find(same)
  if (!found) return undefined
  found.used = true
  return found.id
}
