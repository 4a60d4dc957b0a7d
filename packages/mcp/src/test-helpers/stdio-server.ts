// A test MCP server on stdio, run as a child process: `node stdio-server.ts <label>`. When
// MCP_TEST_MARKS names a file, it appends a line there for what a test observes ("slow-started",
// "cancelled"); `crash` makes the process exit mid-call.
import { appendFileSync } from 'node:fs'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'

// Node runs this file itself (type stripping), so the helper is imported by its .ts name.
const { testServer } = (await import(
  new URL('./test-server.ts', import.meta.url).href
)) as typeof import('./test-server.js')

const marks = process.env.MCP_TEST_MARKS
const mark = (line: string) => {
  if (marks) appendFileSync(marks, `${line}\n`)
}
const server = testServer(process.argv[2] ?? 'stdio', {
  onSlowStarted: () => mark('slow-started'),
  onCancelled: () => mark('cancelled'),
  onCrash: () => process.exit(1),
})
await server.connect(new StdioServerTransport())
