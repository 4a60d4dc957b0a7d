import { type DynamicStructuredTool, tool } from '@langchain/core/tools'
import { currentRun, type ReportStatusInput } from '@runner/core'
import {
  REPORT_STATUS_DESCRIPTION,
  REPORT_STATUS_RESULT,
  REPORT_STATUS_TOOL_NAME,
  reportStatusInputSchema,
} from '@runner/core/adapter'
import { RunCallbackHandler } from './run-callback-handler.js'
import { wrapTool } from './wrap-tools.js'

/** `report_status` as a LangChain tool (a `DynamicStructuredTool` made with `tool()`). */
export type ReportStatusTool = DynamicStructuredTool<
  typeof reportStatusInputSchema,
  ReportStatusInput,
  ReportStatusInput,
  string
>

/**
 * `report_status` as a LangChain tool, wrapped (see `wrapTool`): core's definition (name,
 * description, zod schema), reporting to the run it is called in through `currentRun()`. Bad
 * arguments become an error result the model reads (`Invalid input for tool "report_status":
 * percentage must be at most 100...`). Outside a run it throws, which `ToolNode` turns into an
 * error result too.
 */
export function createReportStatusTool(): ReportStatusTool {
  const reportStatus = tool(
    async (input: ReportStatusInput, config) => {
      const run = currentRun() ?? RunCallbackHandler.from(config)?.context
      if (!run) {
        throw new Error(
          'report_status reports to a run: run the agent with a runner (runner.run(agent, input)) to record its progress.',
        )
      }
      await run.report(input.message, input.percentage)
      return REPORT_STATUS_RESULT
    },
    {
      name: REPORT_STATUS_TOOL_NAME,
      description: REPORT_STATUS_DESCRIPTION,
      schema: reportStatusInputSchema,
    },
  )
  return wrapTool(reportStatus) as ReportStatusTool
}
