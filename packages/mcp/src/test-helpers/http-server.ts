import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { type TestServerHooks, testServer } from './test-server.js'

/** A test MCP server on loopback Streamable HTTP, in this process: one session per server. */
export async function startHttpServer(
  label: string,
  hooks: TestServerHooks = {},
): Promise<{ url: string; requests: Array<{ headers: Record<string, unknown> }> } & AsyncDisposable> {
  const server = testServer(label, hooks)
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() })
  await server.connect(transport)
  const requests: Array<{ headers: Record<string, unknown> }> = []
  const http = createServer((request, response) => {
    requests.push({ headers: { ...request.headers } })
    void transport.handleRequest(request, response)
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests,
    async [Symbol.asyncDispose]() {
      await server.close()
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}
