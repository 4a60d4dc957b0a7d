import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { AnyToolDefinition } from '@runner/core'
import { parseOrThrow } from '@runner/core/adapter'
import { z } from 'zod'
import { type McpToolsOptions, mcpTools } from './mcp-tools.js'
import { VERSION } from './version.js'

/** What both kinds of server take. */
interface McpCommonOptions {
  /** The client name the server sees. Default `@runner/mcp`. */
  clientName?: string
}

/** A server run as a child process, spoken to over its stdin and stdout. */
export interface McpStdioServerOptions extends McpCommonOptions {
  command: string
  args?: ReadonlyArray<string>
  /**
   * The child's environment, on top of the few variables the MCP SDK passes by default (`PATH`,
   * `HOME`...; not the whole of this process's environment).
   */
  env?: Record<string, string>
  /** The child's working directory. Default: this process's. */
  cwd?: string
  /** The child's stderr. Default `inherit`. */
  stderr?: 'inherit' | 'ignore'
}

/** A server over Streamable HTTP. */
export interface McpHttpServerOptions extends McpCommonOptions {
  url: string | URL
  /** Sent with every request (an `Authorization` header, say). */
  headers?: Record<string, string>
  /** The fetch to use. Default: the global one. */
  fetch?: typeof fetch
}

export type McpServerOptions = McpStdioServerOptions | McpHttpServerOptions

/** A connected MCP server. */
export interface McpConnection extends AsyncDisposable {
  /** The SDK client, for what this package does not cover (resources, prompts). */
  readonly client: Client
  /** The server's tools as neutral tools (see `mcpTools`). */
  tools(options?: McpToolsOptions): Promise<AnyToolDefinition[]>
  /** Closes the connection (a stdio server's process ends). */
  close(): Promise<void>
}

const common = { clientName: z.string().min(1).optional() }
const stdioSchema = z.strictObject({
  ...common,
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().min(1).optional(),
  stderr: z.enum(['inherit', 'ignore']).optional(),
})
const httpSchema = z.strictObject({
  ...common,
  url: z.union([
    z.instanceof(URL),
    z.string().refine((value) => URL.canParse(value), 'must be an absolute URL (http://host:port/mcp)'),
  ]),
  headers: z.record(z.string(), z.string()).optional(),
  fetch: z.function().optional(),
})

function transportFor(options: McpServerOptions): Transport {
  if ('command' in options) {
    parseOrThrow(stdioSchema, options, 'MCP server options')
    return new StdioClientTransport({
      command: options.command,
      args: [...(options.args ?? [])],
      ...(options.env ? { env: options.env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stderr: options.stderr ?? 'inherit',
    })
  }
  if (typeof options === 'object' && options !== null && 'url' in options) {
    parseOrThrow(httpSchema, options, 'MCP server options')
    return new StreamableHTTPClientTransport(new URL(options.url), {
      ...(options.headers ? { requestInit: { headers: options.headers } } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    })
  }
  // Neither: the error names both shapes.
  return parseOrThrow(
    z.union([stdioSchema, httpSchema], { error: 'give { command, args?, env? } or { url, headers? }' }),
    options,
    'MCP server options',
  ) as never
}

/**
 * Connects to an MCP server: a child process on stdio (`{ command, args?, env? }`) or Streamable
 * HTTP (`{ url, headers? }`). Bad options throw `InvalidOptionsError`; a server that cannot be
 * reached rejects with the SDK's error. Close it when done (`await using` works too).
 */
export async function connectMcp(options: McpServerOptions): Promise<McpConnection> {
  const transport = transportFor(options)
  const client = new Client({ name: options.clientName ?? '@runner/mcp', version: VERSION })
  await client.connect(transport)
  const close = () => client.close()
  return {
    client,
    tools: (toolsOptions) => mcpTools(client, toolsOptions),
    close,
    [Symbol.asyncDispose]: close,
  }
}
