import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Anthropic from '@anthropic-ai/sdk'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ClaudeRunner } from '@runner/claude'
import {
  type AnyToolDefinition,
  createActivityTracker,
  InvalidOptionsError,
  MemoryActivityStore,
  RunCanceledError,
} from '@runner/core'
import { toolInputJsonSchema } from '@runner/core/adapter'
import { completed } from '@runner/core/test'
import { OpenAIRunner } from '@runner/openai'
import {
  type ProtocolFake,
  type RecordedRequest,
  rejectionOf,
  scenario,
  startProtocolFake,
} from '@runner/testkit'
import OpenAI from 'openai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { connectMcp, type McpConnection } from './connect.js'
import { mcpTools } from './mcp-tools.js'
import { startHttpServer } from './test-helpers/http-server.js'

const stdioScript = fileURLToPath(new URL('./test-helpers/stdio-server.ts', import.meta.url))

let fake: ProtocolFake
let marksDir: string
const open: McpConnection[] = []
beforeEach(async () => {
  fake = await startProtocolFake()
  marksDir = mkdtempSync(join(tmpdir(), 'runner-mcp-'))
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((connection) => connection.close()))
  await fake.close()
  rmSync(marksDir, { recursive: true, force: true })
})

/** A stdio server child process; its observations land in the returned `marks()`. */
async function stdioServer(label = 'stdio') {
  const marksFile = join(marksDir, `${label}.marks`)
  const connection = await connectMcp({
    command: process.execPath,
    args: [stdioScript, label],
    env: { MCP_TEST_MARKS: marksFile },
  })
  open.push(connection)
  const marks = (): string[] => {
    try {
      return readFileSync(marksFile, 'utf8').trim().split('\n').filter(Boolean)
    } catch {
      return []
    }
  }
  return { connection, marks }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within 5 s`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const openaiRunner = (store = new MemoryActivityStore()) =>
  new OpenAIRunner({
    client: new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, logLevel: 'off' }),
    activity: createActivityTracker({ store }),
    retry: { attempts: 1 },
  })

/** The tool results a Chat Completions request gave the model. */
function chatToolResults(request: unknown): string[] {
  const messages = (request as RecordedRequest).body.messages as Array<Record<string, unknown>>
  return messages.filter((message) => message.role === 'tool').map((message) => String(message.content))
}

/** The request of the player's call `index`. */
function requestOf(player: { calls: Array<{ request: unknown }> }, index: number): RecordedRequest {
  const call = player.calls[index]
  if (!call) throw new Error(`no model call ${index}`)
  return call.request as RecordedRequest
}

const named = (tools: AnyToolDefinition[], name: string) => {
  const tool = tools.find((candidate) => candidate.name === name)
  if (!tool) throw new Error(`no tool ${name}`)
  return tool
}

describe('listing tools', { timeout: 20_000 }, () => {
  it('stdio: every tool, with the server’s JSON Schema as the model’s, and include / exclude / prefix', async () => {
    const { connection } = await stdioServer()
    const listed = await connection.client.listTools()
    const tools = await connection.tools()
    expect(tools.map((tool) => tool.name)).toEqual(['weather', 'mixed', 'fail', 'stats', 'slow', 'crash'])
    const weather = named(tools, 'weather')
    expect(weather.description).toBe('The weather in a city.')
    const { $schema: _ignored, ...serverSchema } = (
      listed.tools[0] as { inputSchema: Record<string, unknown> }
    ).inputSchema
    expect(toolInputJsonSchema(weather)).toEqual(serverSchema)
    expect(serverSchema).toMatchObject({
      type: 'object',
      properties: { city: { type: 'string', description: 'A city name' } },
      required: ['city'],
    })
    expect((await connection.tools({ include: ['weather', 'fail'] })).map((tool) => tool.name)).toEqual([
      'weather',
      'fail',
    ])
    expect(
      (await connection.tools({ exclude: ['crash', 'slow'], prefix: 'w_' })).map((tool) => tool.name),
    ).toEqual(['w_weather', 'w_mixed', 'w_fail', 'w_stats'])
  })

  it('refuses bad options with InvalidOptionsError naming the field', async () => {
    const { connection } = await stdioServer()
    const unknown = await rejectionOf(connection.tools({ include: ['weather', 'nope'] }))
    expect(InvalidOptionsError.isInstance(unknown)).toBe(true)
    expect(String(unknown)).toMatch(/include\.1: the server has no tool "nope" \(its tools: weather, mixed/)
    const badPrefix = await rejectionOf(connection.tools({ prefix: 'a.b' }))
    expect(String(badPrefix)).toMatch(/prefix: use only letters/)
    const tooLong = await rejectionOf(connection.tools({ prefix: 'x'.repeat(60) }))
    expect(String(tooLong)).toMatch(/tools\.weather: ".*" is longer than 64 characters/)
    await expect(connectMcp({ command: '' })).rejects.toThrow(/Invalid MCP server options: command/)
    await expect(connectMcp({ url: 'not a url' })).rejects.toThrow(/url: must be an absolute URL/)
    await expect(connectMcp({} as never)).rejects.toThrow(InvalidOptionsError)
  })

  it('Streamable HTTP: the tools, and the headers reach the server', async () => {
    await using server = await startHttpServer('http')
    const connection = await connectMcp({ url: server.url, headers: { authorization: 'Bearer t0k' } })
    open.push(connection)
    expect((await connection.tools()).map((tool) => tool.name)).toContain('weather')
    expect(server.requests.length).toBeGreaterThan(1)
    expect(server.requests.every((request) => request.headers.authorization === 'Bearer t0k')).toBe(true)
  })
})

describe('mcpTools over a client of your own', { timeout: 20_000 }, () => {
  it('takes a connected SDK Client: its tools run in a run like connectMcp’s', async () => {
    await using server = await startHttpServer('own')
    const client = new Client({ name: 'mine', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)))
    try {
      const tools = await mcpTools(client, { include: ['weather'], prefix: 'own_' })
      const { model, player } = fake.play(
        scenario().toolCall('own_weather', { city: 'Bergen' }).text('Rain.'),
      )
      const result = await completed(openaiRunner().run({ model, api: 'chat', tools }, 'q'))
      expect(result.text).toBe('Rain.')
      expect(chatToolResults(player.calls[1]?.request)).toEqual(['Sunny in Bergen (own)'])
    } finally {
      await client.close()
    }
  })
})

describe('OpenAIRunner with MCP tools', { timeout: 20_000 }, () => {
  it('stdio: the model calls an MCP tool and reads its result; hooks see the call, and a rewritten input is sent', async () => {
    const { connection } = await stdioServer()
    const tools = await connection.tools({ include: ['weather'] })
    const { model, player } = fake.play(scenario().toolCall('weather', { city: 'Paris' }).text('Nice.'))
    const seen: unknown[] = []
    const result = await completed(
      openaiRunner().run({ model, api: 'chat', tools }, 'Weather in Paris?', {
        hooks: {
          onToolCallStart: (event) => {
            seen.push(['start', event.toolName, event.input])
            return { input: { city: 'Lyon' } }
          },
          onToolCallEnd: (event) => {
            seen.push(['end', event.toolName, event.input, event.output, event.isError])
          },
        },
      }),
    )
    expect(result.text).toBe('Nice.')
    expect(seen).toEqual([
      ['start', 'weather', { city: 'Paris' }],
      ['end', 'weather', { city: 'Lyon' }, 'Sunny in Lyon (stdio)', false],
    ])
    const offered = requestOf(player, 0).body.tools as Array<{
      function: { name: string; parameters: Record<string, unknown> }
    }>
    expect(offered.find((tool) => tool.function.name === 'weather')?.function.parameters).toMatchObject({
      type: 'object',
      properties: { city: { type: 'string', description: 'A city name' } },
    })
    expect(chatToolResults(player.calls[1]?.request)).toEqual(['Sunny in Lyon (stdio)'])
  })

  it('a hook that denies the call: the server is never called, the model reads the denial', async () => {
    const calls: string[] = []
    await using server = await startHttpServer('http', { onCall: (name) => calls.push(name) })
    const connection = await connectMcp({ url: server.url })
    open.push(connection)
    const tools = await connection.tools()
    const { model, player } = fake.play(scenario().toolCall('weather', { city: 'Paris' }).text('OK.'))
    const result = await completed(
      openaiRunner().run({ model, api: 'chat', tools }, 'q', {
        hooks: { onToolCallStart: () => ({ deny: 'no weather today' }) },
      }),
    )
    expect(result.text).toBe('OK.')
    expect(calls).toEqual([])
    expect(chatToolResults(player.calls[1]?.request)).toEqual(['Tool call denied: no weather today'])
  })

  it('content other than text is summarised; structured content alone reads as its JSON', async () => {
    const { connection } = await stdioServer()
    const tools = await connection.tools()
    const { model, player } = fake.play(
      scenario()
        .toolCalls([
          { name: 'mixed', input: {} },
          { name: 'stats', input: {} },
        ])
        .text('Done.'),
    )
    await completed(openaiRunner().run({ model, api: 'chat', tools }, 'q'))
    expect(chatToolResults(player.calls[1]?.request)).toEqual([
      'Here is a chart.\n[image image/png, 8 bytes]\n[resource file:///notes.txt, text/plain]\na note\n[resource link file:///big.csv (big.csv), text/csv]',
      '{"count":3}',
    ])
  })

  it('an isError result and a server that dies mid-call are error results the model reads; the run completes', async () => {
    const { connection } = await stdioServer()
    const tools = await connection.tools()
    const { model, player } = fake.play(
      scenario().toolCall('fail', { city: 'Atlantis' }).toolCall('crash', {}).text('Sorry.'),
    )
    const ends: Array<{ output: unknown; isError: boolean }> = []
    const result = await completed(
      openaiRunner().run({ model, api: 'chat', tools }, 'q', {
        hooks: { onToolCallEnd: ({ output, isError }) => void ends.push({ output, isError }) },
      }),
    )
    expect(result.text).toBe('Sorry.')
    expect(ends[0]).toEqual({ output: 'Tool "fail" failed: no such city: Atlantis', isError: true })
    expect(ends[1]?.isError).toBe(true)
    expect(String(ends[1]?.output)).toMatch(/^Tool "crash" failed: .*[Cc]onnection closed/)
    expect(chatToolResults(player.calls[2]?.request).at(-1)).toBe(ends[1]?.output)
  })

  /** Cancels a run during the `slow` tool; the server must observe it. */
  async function cancelDuringSlow(
    tools: AnyToolDefinition[],
    started: () => boolean,
    cancelled: () => boolean,
  ) {
    const { model } = fake.play(scenario().toolCall('slow', {}).text('never'))
    const controller = new AbortController()
    const running = openaiRunner().run({ model, api: 'chat', tools }, 'q', { signal: controller.signal })
    await until(started, 'the slow call')
    controller.abort()
    const error = await rejectionOf(running)
    expect(RunCanceledError.isInstance(error), String(error)).toBe(true)
    await until(cancelled, 'the server’s cancellation')
  }

  it('stdio: cancel during a slow MCP tool cancels the run, and the server sees the cancellation', async () => {
    const { connection, marks } = await stdioServer()
    await cancelDuringSlow(
      await connection.tools(),
      () => marks().includes('slow-started'),
      () => marks().includes('cancelled'),
    )
  })

  it('Streamable HTTP: cancel during a slow MCP tool cancels the run, and the server sees the cancellation', async () => {
    let started = false
    let cancelled = false
    await using server = await startHttpServer('http', {
      onSlowStarted: () => {
        started = true
      },
      onCancelled: () => {
        cancelled = true
      },
    })
    const connection = await connectMcp({ url: server.url })
    open.push(connection)
    await cancelDuringSlow(
      await connection.tools(),
      () => started,
      () => cancelled,
    )
  })

  it('needsApproval: a durable run waits; once approved and resumed, the MCP tool runs and the model reads its result', async () => {
    const calls: string[] = []
    await using server = await startHttpServer('http', { onCall: (name) => calls.push(name) })
    const connection = await connectMcp({ url: server.url })
    open.push(connection)
    const tools = await connection.tools({ needsApproval: (name) => name === 'weather' })
    expect(named(tools, 'weather').needsApproval).toBe(true)
    expect(named(tools, 'mixed').needsApproval).toBeUndefined()
    const store = new MemoryActivityStore()
    const { model, player } = fake.play(scenario().toolCall('weather', { city: 'Oslo' }).text('Cold?'))
    const agent = { model, api: 'chat' as const, tools }
    const waiting = await openaiRunner(store).run(agent, 'Weather in Oslo?')
    expect(waiting.status).toBe('waiting')
    if (waiting.status !== 'waiting') return
    expect(waiting.pending).toEqual([
      { id: 'call_0_0', kind: 'approval', toolName: 'weather', input: { city: 'Oslo' } },
    ])
    expect(calls).toEqual([])
    const second = openaiRunner(store)
    await second.approve(waiting.agentId, 'call_0_0', { by: 'ada' })
    const result = await completed(second.resume(agent, waiting.agentId))
    expect(result.text).toBe('Cold?')
    expect(calls).toEqual(['weather'])
    expect(chatToolResults(player.calls[1]?.request)).toEqual(['Sunny in Oslo (http)'])
  })

  it('two servers with a tool of one name: refused without a prefix, both offered with one', async () => {
    await using a = await startHttpServer('a')
    await using b = await startHttpServer('b')
    const first = await connectMcp({ url: a.url })
    const second = await connectMcp({ url: b.url })
    open.push(first, second)
    const clash = fake.play(scenario().text('never'))
    const refused = await rejectionOf(
      openaiRunner().run(
        { model: clash.model, api: 'chat', tools: [...(await first.tools()), ...(await second.tools())] },
        'q',
      ),
    )
    expect(InvalidOptionsError.isInstance(refused)).toBe(true)
    expect(String(refused)).toMatch(/duplicate tool name "weather"/)

    const tools = [...(await first.tools({ prefix: 'a_' })), ...(await second.tools({ prefix: 'b_' }))]
    const { model, player } = fake.play(
      scenario()
        .toolCalls([
          { name: 'b_weather', input: { city: 'Rome' } },
          { name: 'a_weather', input: { city: 'Rome' } },
        ])
        .text('Both sunny.'),
    )
    await completed(openaiRunner().run({ model, api: 'chat', tools }, 'q'))
    expect(chatToolResults(player.calls[1]?.request)).toEqual(['Sunny in Rome (b)', 'Sunny in Rome (a)'])
  })
})

describe('ClaudeRunner with MCP tools', { timeout: 20_000 }, () => {
  it('Streamable HTTP: the model calls an MCP tool and reads its result', async () => {
    await using server = await startHttpServer('http')
    const connection = await connectMcp({ url: server.url })
    open.push(connection)
    const tools = await connection.tools({ include: ['weather', 'fail'] })
    const runner = new ClaudeRunner({
      client: new Anthropic({
        apiKey: 'sk-ant-test',
        baseURL: fake.anthropicBaseURL,
        maxRetries: 0,
        logLevel: 'off',
      }),
      retry: { attempts: 1 },
    })
    const { model, player } = fake.play(
      scenario()
        .toolCalls([
          { name: 'weather', input: { city: 'Kyoto' } },
          { name: 'fail', input: { city: 'Atlantis' } },
        ])
        .text('Kyoto is sunny.'),
    )
    const result = await completed(runner.run({ model, maxTokens: 100, tools }, 'Weather?'))
    expect(result.text).toBe('Kyoto is sunny.')
    const body = requestOf(player, 0).body
    expect((body.tools as Array<{ name: string }>).find((tool) => tool.name === 'weather')).toMatchObject({
      name: 'weather',
      input_schema: { type: 'object', properties: { city: { type: 'string' } } },
    })
    const messages = requestOf(player, 1).body.messages as Array<{
      role: string
      content: unknown
    }>
    expect(messages.at(-1)?.content).toEqual([
      expect.objectContaining({ type: 'tool_result', content: 'Sunny in Kyoto (http)' }),
      expect.objectContaining({
        type: 'tool_result',
        content: 'Tool "fail" failed: no such city: Atlantis',
        is_error: true,
      }),
    ])
  })
})
