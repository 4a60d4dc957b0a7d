import { currentRun, type ReportStatusInput } from '@runner/core'
import {
  REPORT_STATUS_DESCRIPTION,
  REPORT_STATUS_RESULT,
  reportStatusInputSchema,
} from '@runner/core/adapter'
import { type Tool, tool } from 'ai'

/**
 * `report_status` as an AI SDK `tool`: the model reports progress, and the run it belongs to
 * (`currentRun()`) updates its activity. Invalid arguments are refused by the AI SDK before
 * `execute` runs (a tool error the model reads). Outside a run it does nothing, so an agent that
 * carries it still works when called directly (`agent.generate()`).
 */
export const reportStatusTool: Tool<ReportStatusInput, string> = tool({
  description: REPORT_STATUS_DESCRIPTION,
  inputSchema: reportStatusInputSchema,
  async execute({ message, percentage }) {
    await currentRun()?.report(message, percentage)
    return REPORT_STATUS_RESULT
  },
})
