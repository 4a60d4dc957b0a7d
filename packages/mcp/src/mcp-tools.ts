import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js'
import { type AnyToolDefinition, defineTool, InvalidOptionsError } from '@runner/core'
import { parseOrThrow } from '@runner/core/adapter'
import { z } from 'zod'
import { mcpResultText } from './content.js'

/** Which of a server's tools to offer, and how. */
export interface McpToolsOptions {
  /**
   * Ask a person before each call (a durable run waits, see `@runner/core` "Durable runs"): true
   * for every tool, or a function of the server's tool name. Default false.
   */
  needsApproval?: boolean | ((toolName: string) => boolean)
  /** Only these tools (the server's names). Default: all. A name the server lacks is an error. */
  include?: ReadonlyArray<string>
  /** Leave these tools out (the server's names). A name the server lacks is an error. */
  exclude?: ReadonlyArray<string>
  /**
   * Put before every tool name the model sees (`'github_'` makes `search` into `github_search`),
   * so that two servers' tools of one name can be offered together. The server is called with its
   * own name. Default none.
   */
  prefix?: string
  /** How long one call may take, in milliseconds. Default: the MCP SDK's (60 s). */
  timeoutMs?: number
  /**
   * The tool output the model reads, from a result that is not `isError`. Default `mcpResultText`:
   * text blocks joined, other blocks summarised.
   */
  output?: (result: CallToolResult, toolName: string) => unknown
}

const optionsSchema = z.strictObject({
  needsApproval: z.union([z.boolean(), z.function()]).optional(),
  include: z.array(z.string()).optional(),
  exclude: z.array(z.string()).optional(),
  prefix: z
    .string()
    .regex(/^[a-zA-Z0-9_-]*$/, 'use only letters, digits, "_" and "-" (tool names allow no other)')
    .optional(),
  timeoutMs: z.number().int().positive().optional(),
  output: z.function().optional(),
})

const toolNamePattern = /^[a-zA-Z0-9_-]{1,64}$/

/** A server's tool name as a name the providers accept: other characters become `_`. */
function modelToolName(prefix: string, name: string): string {
  return `${prefix}${name.replace(/[^a-zA-Z0-9_-]/g, '_')}`
}

/** Every tool the server lists, across pages. */
async function listAllTools(client: Client): Promise<Tool[]> {
  const tools: Tool[] = []
  let cursor: string | undefined
  do {
    const page = await client.listTools(cursor === undefined ? undefined : { cursor })
    tools.push(...page.tools)
    cursor = page.nextCursor
  } while (cursor)
  return tools
}

/**
 * The tools of a connected MCP server (an `@modelcontextprotocol/sdk` `Client`) as neutral tools
 * for `OpenAIRunner` and `ClaudeRunner`. Each tool's `inputSchema` goes to the model as is; the
 * server checks the input. A call runs under the runner's tool-call protocol (`onToolCallStart`
 * may deny it or rewrite its input, `onToolCallEnd` fires, approvals, the journal of a durable
 * run) and is sent with the run's signal: a canceled run cancels the MCP request (the server gets
 * `notifications/cancelled`). A result with `isError`, or a failed request (the server died, a
 * timeout, invalid input), is a tool error result the model reads, never a crashed run.
 *
 * Throws `InvalidOptionsError` for bad options, an `include`/`exclude` name the server lacks, or a
 * tool name the providers cannot take (longer than 64 with the prefix, or two that become alike).
 */
export async function mcpTools(client: Client, options: McpToolsOptions = {}): Promise<AnyToolDefinition[]> {
  parseOrThrow(optionsSchema, options, 'MCP tools options')
  const listed = await listAllTools(client)
  const names = new Set(listed.map((tool) => tool.name))
  const issues: Array<{ field: string; message: string }> = []
  for (const key of ['include', 'exclude'] as const)
    for (const [index, name] of (options[key] ?? []).entries())
      if (!names.has(name))
        issues.push({
          field: `${key}.${index}`,
          message: `the server has no tool "${name}" (its tools: ${[...names].join(', ') || 'none'})`,
        })
  if (issues.length > 0) throw new InvalidOptionsError(issues, { subject: 'MCP tools options' })
  const include = options.include ? new Set(options.include) : undefined
  const exclude = new Set(options.exclude ?? [])
  const chosen = listed.filter((tool) => (!include || include.has(tool.name)) && !exclude.has(tool.name))
  const prefix = options.prefix ?? ''
  const seen = new Map<string, string>()
  for (const tool of chosen) {
    const name = modelToolName(prefix, tool.name)
    const other = seen.get(name)
    if (!toolNamePattern.test(name))
      issues.push({
        field: `tools.${tool.name}`,
        message: `"${name}" is longer than 64 characters, which the providers refuse: use a shorter prefix or exclude it`,
      })
    else if (other !== undefined)
      issues.push({
        field: `tools.${tool.name}`,
        message: `becomes "${name}" like "${other}": exclude one of them`,
      })
    seen.set(name, tool.name)
  }
  if (issues.length > 0) throw new InvalidOptionsError(issues, { subject: 'MCP tools options' })
  return chosen.map((tool) => toNeutralTool(client, tool, prefix, options))
}

function toNeutralTool(
  client: Client,
  tool: Tool,
  prefix: string,
  options: McpToolsOptions,
): AnyToolDefinition {
  const rule = options.needsApproval
  const needsApproval = typeof rule === 'function' ? Boolean(rule(tool.name)) : rule === true
  return defineTool({
    name: modelToolName(prefix, tool.name),
    description: tool.description ?? tool.title ?? tool.annotations?.title ?? `MCP tool ${tool.name}`,
    // The server checks the input against its own schema: an invalid one comes back as an error.
    inputSchema: z.unknown(),
    jsonSchema: tool.inputSchema as Record<string, unknown>,
    ...(needsApproval ? { needsApproval: true } : {}),
    async execute(input, { signal }) {
      if (typeof input !== 'object' || input === null || Array.isArray(input))
        throw new TypeError(`the input must be a JSON object, got ${JSON.stringify(input) ?? String(input)}`)
      const result = (await client.callTool(
        { name: tool.name, arguments: input as Record<string, unknown> },
        undefined,
        { signal, ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }) },
      )) as CallToolResult
      if (result.isError) throw new Error(mcpResultText(result) || 'the server reported an error')
      return options.output ? options.output(result, tool.name) : mcpResultText(result)
    },
  })
}
