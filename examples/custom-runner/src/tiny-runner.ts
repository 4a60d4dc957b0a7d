import { BaseAgentRunner, type ExecuteResult, type RunContext } from '@runner/core'
import { reportStatusTool, runToolLoop } from '@runner/core/adapter'
import { fromTinyTool, toTinyTool } from './convert-tools.ts'
import { TinyConversation } from './tiny-conversation.ts'
import { type TinyAgent, TinyModelError, type TinyResponse, type TinyTool } from './tiny-framework.ts'

/** report_status in the framework's own tool shape (built once from core's neutral definition). */
const reportStatus = toTinyTool(reportStatusTool)

/**
 * Runs a `TinyAgent` under the runner contract: activity, report_status, streaming, cancellation,
 * timeouts, retries, turn limits, hooks, usage and trajectory. The base class owns the lifecycle
 * and core's `runToolLoop` the loop; this class only translates between the tiny framework and
 * the `RunContext` (`TinyConversation` is the loop's driver).
 *
 * Input: the user's prompt. Output: the model's last `TinyResponse`.
 */
export class TinyRunner extends BaseAgentRunner<TinyAgent, string, TinyResponse, TinyTool> {
  /** `report_status` as a `TinyTool`. The runner adds it to every agent; you need not. */
  override get tools(): { reportStatus: TinyTool } {
    return { reportStatus }
  }

  /** The activity's agentType: the agent's name (`researcher`), unless a run names one. */
  protected override agentTypeOf(agent: TinyAgent): string {
    return agent.name
  }

  /**
   * Which failures a retry may fix: HTTP 408, 409, 429 and 5xx, and a stream cut in the middle;
   * not a bad request nor an answer that cannot be read.
   */
  protected override isRetryable(error: unknown): boolean {
    if (error instanceof TinyModelError) {
      if (error.status !== undefined) {
        return error.status === 408 || error.status === 409 || error.status === 429 || error.status >= 500
      }
      return error.code === 'stream_interrupted'
    }
    return super.isRetryable(error) // network errors (ECONNRESET...) and the like
  }

  /**
   * One attempt: the tiny framework has no loop, so core's `runToolLoop` runs it over a
   * `TinyConversation`. Nothing of the lifecycle lives here: no activity updates, no try/finally,
   * no timers, no retry.
   */
  protected override execute(
    context: RunContext,
    agent: TinyAgent,
    prompt: string,
  ): Promise<ExecuteResult<TinyResponse>> {
    // The runner owns the tool list, so it adds report_status (unless the agent already has it).
    const agentTools = agent.tools.some((tool) => tool.name === reportStatus.name)
      ? agent.tools
      : [this.tools.reportStatus, ...agent.tools]
    // The model sees the tools in the framework's shape (JSON Schema)...
    const specs = agentTools.map(({ name, description, parameters }) => ({ name, description, parameters }))
    // ...and the loop runs them as neutral tools, through core's tool-call protocol.
    const tools = agentTools.map(fromTinyTool)
    return runToolLoop(context, new TinyConversation(agent, context.prompts, specs, prompt), tools)
  }
}
