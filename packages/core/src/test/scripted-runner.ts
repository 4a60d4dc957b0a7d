import type { JsonValue, Usage } from '../activity/types.js'
import type { RunnerPrompts } from '../prompts.js'
import { BaseAgentRunner } from '../runner/base-agent-runner.js'
import type { ExecuteResult, RunContext } from '../runner/types.js'
import type { AnyToolDefinition } from '../tools/define-tool.js'
import { toolOutputText } from '../tools/tool-call.js'
import { type ModelAnswer, runToolLoop, type ToolLoopDriver } from '../tools/tool-loop.js'
import { abortableSleep } from '../util/abort.js'

/** One scripted model response. */
export interface ScriptStep {
  text?: string
  /** Reasoning streamed before the text (`reasoning-delta`). */
  reasoning?: string
  toolCalls?: Array<{ name: string; input: unknown; id?: string }>
  usage?: Partial<Usage>
  /** Wait this long (abortably) before answering. */
  delayMs?: number
  /** Never answer; only the signal ends the call. */
  hang?: boolean
  /** Like `hang`, but ignore the signal entirely (a badly behaved SDK). */
  hangIgnoringSignal?: boolean
  /** Throw this instead of answering. */
  error?: unknown
  /** Stream the text, then throw this (a stream cut after the reader saw part of the answer). */
  errorAfterText?: unknown
  /** The model that answered (default: the agent's `modelId`). */
  model?: string
  /** Why the model stopped (reported as `finishReasons: [finishReason]`). */
  finishReason?: string
}

/** What the scripted model is asked on each call (kept on `calls`). */
export interface ScriptedCall {
  turn: number
  wrapUp: boolean
  /** The agent's instructions, then `prompts.reportStatus` (or `prompts.wrapUp` on wrap-up turns). */
  instructions: string
  toolNames: string[]
  /** The prompt, the wrap-up prompt when asked, then `<tool>: <output>` for every tool result so far. */
  messages: string[]
}

/**
 * A scripted in-process model: answers are consumed in order across calls and attempts, and every
 * call is kept on `calls`. A call beyond the script fails the call (and the test) with a message
 * saying so.
 */
export class ScriptedModel implements ScriptSource {
  readonly calls: ScriptedCall[] = []
  #index = 0
  constructor(readonly steps: ScriptStep[]) {}

  /** Steps not consumed yet. */
  get remaining(): number {
    return this.steps.length - this.#index
  }

  async next(signal: AbortSignal, request: ScriptedCall): Promise<ScriptStep> {
    this.calls.push(request)
    const step = this.steps[this.#index++]
    if (!step)
      throw new Error(`ScriptedModel: call ${this.#index} is beyond the script of ${this.steps.length} steps`)
    if (step.hangIgnoringSignal) return new Promise<never>(() => {})
    if (step.hang) {
      await new Promise<never>((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
      )
    }
    if (step.delayMs) await abortableSleep(step.delayMs, signal)
    if (step.error !== undefined) throw step.error
    return step
  }
}

/** Where a scripted runner gets its answers: a `ScriptedModel`, or the test kit's scenario player. */
export interface ScriptSource {
  /** The answer to one call (throws or hangs as the script says). Keeps what was asked. */
  next(signal: AbortSignal, request: ScriptedCall): Promise<ScriptStep>
}

/** The agent of `ScriptedRunner`: a scripted model, the tools it may call, and instructions. */
export interface ScriptedAgent {
  model: ScriptSource
  tools?: AnyToolDefinition[]
  instructions?: string
  /** The model id the runner reports for each call (priced from the model catalog). */
  modelId?: string
  /** The provider it reports (an OpenTelemetry GenAI provider name: `openai`, `anthropic`...). */
  provider?: string
}

/** The conversation of one attempt, as the tool loop's driver. */
class ScriptedConversation implements ToolLoopDriver<ScriptStep, ScriptedCall, ScriptStep> {
  #messages: string[]
  #counter = 0

  snapshot(): JsonValue {
    return { messages: [...this.#messages], counter: this.#counter }
  }

  restore(state: JsonValue): void {
    const saved = state as { messages: string[]; counter: number }
    this.#messages = [...saved.messages]
    this.#counter = saved.counter
  }

  constructor(
    readonly agent: ScriptedAgent,
    readonly prompts: RunnerPrompts,
    input: string,
  ) {
    this.#messages = [input]
  }

  addUserMessage(text: string): void {
    this.#messages.push(text)
  }

  request(turn: { turn: number; wrapUp: boolean; tools: ReadonlyArray<AnyToolDefinition> }): ScriptedCall {
    return {
      turn: turn.turn,
      wrapUp: turn.wrapUp,
      instructions: [this.agent.instructions, turn.wrapUp ? this.prompts.wrapUp : this.prompts.reportStatus]
        .filter(Boolean)
        .join('\n\n'),
      toolNames: turn.tools.map((tool) => tool.name),
      messages: [...this.#messages],
    }
  }

  modelOf(): { model?: string; provider?: string } {
    const called: { model?: string; provider?: string } = {}
    if (this.agent.modelId !== undefined) called.model = this.agent.modelId
    if (this.agent.provider !== undefined) called.provider = this.agent.provider
    return called
  }

  async send(request: ScriptedCall, context: RunContext): Promise<ModelAnswer<ScriptStep>> {
    const step = await this.agent.model.next(context.signal, request)
    const text = step.text ?? ''
    if (context.streaming) {
      if (step.reasoning) context.emit({ type: 'reasoning-delta', text: step.reasoning })
      for (const piece of text.match(/.{1,8}/gs) ?? []) context.emit({ type: 'text-delta', text: piece })
    }
    if (step.errorAfterText !== undefined) throw step.errorAfterText
    return {
      native: step,
      text,
      toolCalls: (step.toolCalls ?? []).map((call) => ({
        toolCallId: call.id ?? `call_${++this.#counter}`,
        toolName: call.name,
        input: call.input,
      })),
      ...(step.usage ? { usage: step.usage as Usage } : {}),
      ...(step.model ? { model: step.model } : {}),
      ...(step.finishReason ? { finishReasons: [step.finishReason] } : {}),
    }
  }

  addAnswer(): void {}

  addToolResults(outcomes: ReadonlyArray<{ toolName: string; output: unknown }>): void {
    for (const outcome of outcomes)
      this.#messages.push(`${outcome.toolName}: ${toolOutputText(outcome.output)}`)
  }

  result(answer: ModelAnswer<ScriptStep>): ExecuteResult<ScriptStep> {
    return { output: answer.native, text: answer.text }
  }
}

/**
 * The reference runner: a loop-owning runner over a script (a `ScriptedModel`, or the test kit's
 * scenarios), written as an adapter writes one: a driver for core's tool loop and nothing of the
 * lifecycle. It passes the conformance suite; use it to test code that takes any runner, or as the
 * model for your own. It records how often `execute` ran and its last signal.
 */
export class ScriptedRunner extends BaseAgentRunner<ScriptedAgent, string, ScriptStep> {
  executeCalls = 0
  lastSignal: AbortSignal | undefined

  override get capabilities() {
    return { ...super.capabilities, durable: true }
  }

  protected override async execute(
    context: RunContext,
    agent: ScriptedAgent,
    input: string,
  ): Promise<ExecuteResult<ScriptStep>> {
    this.executeCalls++
    this.lastSignal = context.signal
    const tools: AnyToolDefinition[] = [this.tools.reportStatus, ...(agent.tools ?? [])]
    return runToolLoop(context, new ScriptedConversation(agent, context.prompts, input ?? ''), tools)
  }
}
