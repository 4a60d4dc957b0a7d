import type { Usage } from '../../activity/types.js'
import type { AnyToolDefinition } from '../../tools/define-tool.js'
import { runToolCalls, toolOutputText } from '../../tools/run-tool.js'
import { abortableSleep } from '../../util/abort.js'
import { BaseAgentRunner } from '../base-agent-runner.js'
import type { ExecuteResult, RunContext } from '../types.js'

/** One scripted model response. */
export interface ScriptStep {
  text?: string
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
}

/** A scripted in-process model: answers are consumed in order across calls and attempts. */
export class ScriptedModel {
  readonly calls: Array<{ turn: number; wrapUp: boolean; toolNames: string[]; messages: string[] }> = []
  #index = 0
  constructor(readonly steps: ScriptStep[]) {}

  get remaining(): number {
    return this.steps.length - this.#index
  }

  async next(signal: AbortSignal, request: ScriptedModel['calls'][number]): Promise<ScriptStep> {
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

export interface ScriptedAgent {
  model: ScriptedModel
  tools?: AnyToolDefinition[]
}

/** A minimal loop-owning runner over `ScriptedModel`, as an adapter would write it. */
export class ScriptedRunner extends BaseAgentRunner<ScriptedAgent, string, ScriptStep> {
  executeCalls = 0
  lastSignal: AbortSignal | undefined

  protected override async execute(
    context: RunContext,
    agent: ScriptedAgent,
    input: string,
  ): Promise<ExecuteResult<ScriptStep>> {
    this.executeCalls++
    this.lastSignal = context.signal
    const tools = [this.tools.reportStatus as AnyToolDefinition, ...(agent.tools ?? [])]
    const messages = [input]
    let counter = 0
    for (;;) {
      const { turn, wrapUp } = await context.startTurn()
      if (wrapUp) messages.push(context.prompts.wrapUp)
      const request = {
        turn,
        wrapUp,
        toolNames: wrapUp ? [] : tools.map((tool) => tool.name),
        messages: [...messages],
      }
      await context.hooks.modelCallStart({ request })
      const step = await agent.model.next(context.signal, request)
      const text = step.text ?? ''
      if (text && context.streaming)
        for (const piece of text.match(/.{1,4}/gs) ?? []) context.emit({ type: 'text-delta', text: piece })
      if (step.usage) context.addUsage(step.usage)
      const toolCalls = wrapUp
        ? []
        : (step.toolCalls ?? []).map((call) => ({
            toolCallId: call.id ?? `call_${++counter}`,
            toolName: call.name,
            input: call.input,
          }))
      await context.hooks.modelCallEnd({
        response: step,
        text,
        toolCalls,
        ...(step.usage ? { usage: step.usage as Usage } : {}),
      })
      if (toolCalls.length === 0) return { output: step, text }
      const outcomes = await runToolCalls(context, tools, toolCalls)
      for (const outcome of outcomes) messages.push(`${outcome.toolName}: ${toolOutputText(outcome.output)}`)
      context.endTurn()
    }
  }
}
