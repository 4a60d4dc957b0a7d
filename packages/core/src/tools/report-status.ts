import { z } from 'zod'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { type AnyToolDefinition, defineTool } from './define-tool.js'

/** The name every adapter gives the progress tool. */
export const REPORT_STATUS_TOOL_NAME = 'report_status'

/** What the model tells the user through `report_status`. */
export const reportStatusInputSchema = z.object({
  message: z
    .string()
    .min(1, 'must not be empty')
    .max(200, 'must be at most 200 characters')
    .describe('A short message for the user about what you are doing now.'),
  percentage: z
    .number()
    .int('must be an integer')
    .min(0, 'must be at least 0')
    .max(100, 'must be at most 100')
    .describe('Estimated progress of the whole task, an integer from 0 to 100.'),
})

export type ReportStatusInput = z.infer<typeof reportStatusInputSchema>

export const REPORT_STATUS_DESCRIPTION =
  'Report progress to the user: a short message about the step you are starting and your estimated ' +
  'overall progress (integer percentage 0-100). Call it before each new step.'

/** The result the model reads after a successful report. */
export const REPORT_STATUS_RESULT = 'Status updated'

/** The neutral `report_status` tool: updates the run's activity. Adapters wrap it natively. */
export const reportStatusTool = defineTool({
  name: REPORT_STATUS_TOOL_NAME,
  description: REPORT_STATUS_DESCRIPTION,
  inputSchema: reportStatusInputSchema,
  async execute(input, context) {
    await context.run.report(input.message, input.percentage)
    return REPORT_STATUS_RESULT
  },
})

/**
 * How an adapter that owns the tool list offers `report_status`:
 * - `true`: adds the tool and appends `prompts.reportStatus` to the instructions (the default);
 * - `'tool-only'`: adds the tool, leaves the instructions alone (write your own guidance);
 * - `false`: neither (the agent's own tools and instructions only; saves tokens).
 */
export type ReportStatusMode = boolean | 'tool-only'

/**
 * The tools of a run for an adapter that owns the tool list: `report_status` first (unless `mode`
 * is `false` or the agent brings a tool of that name), then the agent's. Throws
 * `InvalidOptionsError` on `agent.tools.<n>` when two of the agent's tools share a name.
 */
export function toolsWithReportStatus(
  tools: ReadonlyArray<AnyToolDefinition> = [],
  mode: ReportStatusMode = true,
): AnyToolDefinition[] {
  const seen = new Set<string>()
  for (const [position, tool] of tools.entries()) {
    if (seen.has(tool.name)) {
      throw new InvalidOptionsError(
        [
          {
            field: `agent.tools.${position}`,
            message: `duplicate tool name "${tool.name}": names must be unique`,
          },
        ],
        { subject: 'agent' },
      )
    }
    seen.add(tool.name)
  }
  const inject = mode !== false && !seen.has(REPORT_STATUS_TOOL_NAME)
  return inject ? [reportStatusTool as AnyToolDefinition, ...tools] : [...tools]
}
