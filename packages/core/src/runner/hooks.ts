import type { ActivityLogKind, ActivityStatus, Usage } from '../activity/types.js'
import type { RunResult } from './types.js'

/** Fields every hook event carries. */
export interface HookRunInfo {
  agentId: string
  agentType: string
  /** Attempt (1-based). */
  attempt: number
  /** Turn (1-based; 0 before the first model call). */
  turn: number
  metadata: Record<string, unknown>
}

/** A tool call as the model made it. */
export interface ToolCallInfo {
  toolCallId: string
  toolName: string
  input: unknown
}

/** What `onToolCallStart` may return: nothing, a denial (the model reads the reason), or a rewritten input. */
export type ToolCallDecision = undefined | { deny: string } | { input: unknown }

type Awaitable<T> = T | Promise<T>

/**
 * Lifecycle hooks. Runner-level hooks fire first, then per-run hooks. A hook that throws fails the
 * run with a `HookError` (its `cause` is what the hook threw), never retried; except `onRunError`,
 * whose errors are ignored so that the original error is kept, and `onStatusUpdate` on the final
 * status, which comes too late to fail anything.
 */
export interface RunHooks<TOutput = unknown> {
  /** The run moved to running, before the first attempt. */
  onRunStart?: (event: HookRunInfo & { input: unknown }) => Awaitable<void>
  /** The run succeeded; fires before the activity is completed, so a throwing hook fails the run. */
  onRunEnd?: (event: HookRunInfo & { result: RunResult<TOutput> }) => Awaitable<void>
  /** The run failed, was canceled or timed out. */
  onRunError?: (event: HookRunInfo & { error: unknown }) => Awaitable<void>
  /**
   * A model call starts. `request` is the framework's request, as the adapter gives it; `model`
   * and `provider` name what is called, when the adapter knows (`provider` is the OpenTelemetry
   * GenAI `gen_ai.provider.name`: `openai`, `anthropic`, `azure.ai.openai`...).
   */
  onModelCallStart?: (
    event: HookRunInfo & { request: unknown; model?: string; provider?: string },
  ) => Awaitable<void>
  /**
   * A model call ended. `model` is the model that answered (the response's, when it names one),
   * `finishReasons` why it stopped (the API's own words: `stop`, `tool_calls`, `end_turn`...),
   * `usage.costUsd` what it cost when its model is priced, `timeToFirstChunkMs` the time from the
   * call's start to its first text or reasoning delta (streamed calls that sent one only).
   */
  onModelCallEnd?: (
    event: HookRunInfo & {
      response: unknown
      text: string
      toolCalls: ToolCallInfo[]
      usage?: Usage
      durationMs: number
      model?: string
      provider?: string
      finishReasons?: string[]
      timeToFirstChunkMs?: number
      /** `true` when a response cache answered the call (no provider request; `usage.costUsd` 0). */
      cached?: boolean
    },
  ) => Awaitable<void>
  /** A tool is about to run: return `{ deny: reason }` to refuse it, `{ input }` to replace its input. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a hook that returns nothing lets the call through
  onToolCallStart?: (event: HookRunInfo & ToolCallInfo) => Awaitable<ToolCallDecision | undefined | void>
  /** A tool finished (`isError` when it failed, was denied or got invalid input). */
  onToolCallEnd?: (
    event: HookRunInfo & ToolCallInfo & { output: unknown; isError: boolean; durationMs: number },
  ) => Awaitable<void>
  /** The activity changed (`kind`: what its log entry records, see `ActivityLogKind`). */
  onStatusUpdate?: (
    event: HookRunInfo & {
      status: ActivityStatus
      message: string
      percentage: number | null
      kind?: ActivityLogKind
    },
  ) => Awaitable<void>
  /** Attempt `attempt` failed; attempt `nextAttempt` follows after `delayMs`. */
  onRetry?: (
    event: HookRunInfo & { error: unknown; nextAttempt: number; maxAttempts: number; delayMs: number },
  ) => Awaitable<void>
}

/** Names of the hooks. */
export type HookName = keyof RunHooks
