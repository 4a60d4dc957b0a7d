import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { EventSource } from 'eventsource'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createActivityTracker } from '../activity/tracker.js'
import { ScriptedModel, ScriptedRunner } from '../test/scripted-runner.js'
import { defineTool } from '../tools/define-tool.js'
import type { SSEResponseOptions } from './run-stream.js'

/** What the server needs of a run, whatever its output type. */
interface AttachableRun {
  agentId: string
  result: Promise<unknown>
  toSSEResponse(options?: SSEResponseOptions): Response
}

/**
 * The GET-safe pattern the README documents: POST /runs starts a run and answers its id; GET
 * /runs/:id/events attaches to it (the request's Last-Event-ID resumes). Node's http server,
 * web Responses bridged the way Hono's and Next.js's Node adapters do it.
 */
class RunServer {
  readonly runs = new Map<string, AttachableRun>()
  readonly starts: string[] = []
  readonly requests: Array<{ path: string; lastEventId: string | undefined; status: number }> = []
  readonly #server: Server
  url = ''

  constructor(
    readonly start: () => AttachableRun,
    readonly sse: SSEResponseOptions = {},
  ) {
    this.#server = createServer((request, response) => void this.#handle(request, response))
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  close(): Promise<void> {
    this.#server.closeAllConnections()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = request.url ?? '/'
    let answer: Response
    if (request.method === 'POST' && path === '/runs') {
      const run = this.start()
      this.runs.set(run.agentId, run)
      this.starts.push(run.agentId)
      answer = Response.json({ agentId: run.agentId }, { status: 201 })
    } else {
      const run = this.runs.get(/^\/runs\/([^/]+)\/events$/.exec(path)?.[1] ?? '')
      const headers = new Headers()
      for (const [name, value] of Object.entries(request.headers)) {
        if (typeof value === 'string') headers.set(name, value)
      }
      answer = run
        ? run.toSSEResponse({ ...this.sse, request: new Request(`${this.url}${path}`, { headers }) })
        : new Response('no such run', { status: 404 })
    }
    const lastEventId = request.headers['last-event-id']
    this.requests.push({
      path,
      lastEventId: typeof lastEventId === 'string' ? lastEventId : undefined,
      status: answer.status,
    })
    response.writeHead(answer.status, Object.fromEntries(answer.headers))
    if (!answer.body) {
      response.end()
      return
    }
    const body = Readable.fromWeb(answer.body as import('node:stream/web').ReadableStream)
    // The client went away: cancel the web stream, as the frameworks' adapters do.
    response.on('close', () => body.destroy())
    body.pipe(response)
  }
}

/** A tool that waits until the test opens its gate: a run that pauses mid-way. */
function gatedRun() {
  const gate = Promise.withResolvers<void>()
  const wait = defineTool({
    name: 'wait',
    description: 'Waits.',
    inputSchema: z.object({}),
    execute: async () => {
      await gate.promise
      return 'opened'
    },
  })
  const model = new ScriptedModel([
    { text: 'Before the gate. ', toolCalls: [{ name: 'wait', input: {} }] },
    { text: 'After the gate.' },
  ])
  return { agent: { model, tools: [wait] }, open: () => gate.resolve() }
}

/** SSE frames of a body: `{ id, event, data, comment, retry }` each. */
function framesOf(text: string) {
  return text
    .split('\n\n')
    .filter((frame) => frame !== '')
    .map((frame) => {
      const fields: Record<string, string> = {}
      for (const line of frame.split('\n')) {
        if (line.startsWith(':')) fields.comment = line.slice(1).trim()
        else {
          const at = line.indexOf(': ')
          fields[line.slice(0, at)] = line.slice(at + 2)
        }
      }
      return fields
    })
}

const until = async (check: () => boolean, ms = 5_000) => {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

let servers: RunServer[] = []
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()))
  servers = []
})

async function serve(start: () => AttachableRun, sse: SSEResponseOptions = {}) {
  const server = new RunServer(start, sse)
  await server.listen()
  servers.push(server)
  return server
}

describe('RunStream.toSSEResponse', () => {
  it('numbers every frame, sets retry first, and sends heartbeats while the run is quiet', async () => {
    const activity = createActivityTracker()
    const runner = new ScriptedRunner({ activity })
    const { agent, open } = gatedRun()
    const run = runner.runStreamed(agent, 'x')
    const response = run.toSSEResponse({ heartbeatMs: 20, retryMs: 1234 })
    const text = response.text()
    await new Promise((resolve) => setTimeout(resolve, 120))
    open()
    const frames = framesOf(await text)
    expect(frames[0]).toEqual({ retry: '1234' })
    const events = frames.filter((frame) => frame.event !== undefined)
    expect(events.map((frame) => Number(frame.id))).toEqual(events.map((_, index) => index + 1))
    expect(events.at(0)?.event).toBe('run-start')
    expect(events.at(-1)?.event).toBe('run-end')
    expect(frames.filter((frame) => frame.comment === 'heartbeat').length).toBeGreaterThanOrEqual(2)
  })

  it('refuses bad options and a Last-Event-ID that is not one of the run’s events, naming them', async () => {
    const runner = new ScriptedRunner()
    const run = runner.runStreamed({ model: new ScriptedModel([{ text: 'hi' }]) }, 'x')
    expect(() => run.toSSEResponse({ heartbeatMs: -1 })).toThrow(/heartbeatMs/)
    expect(() => run.toSSEResponse({ onDisconnect: 'stop' as 'cancel' })).toThrow(/onDisconnect/)
    await run.result
    const response = run.toSSEResponse({ lastEventId: 'abc' })
    expect(response.status).toBe(400)
    expect(await response.text()).toMatch(/Last-Event-ID "abc" is not an event of run/)
    expect(run.toSSEResponse({ lastEventId: '9999' }).status).toBe(400)
  })

  it('an EventSource that does not close on run-end is stopped by 204: one run, every event once', async () => {
    const runner = new ScriptedRunner()
    const server = await serve(
      () => runner.runStreamed({ model: new ScriptedModel([{ text: 'Otters.' }]) }, 'x'),
      {
        retryMs: 20,
      },
    )
    const { agentId } = (await (await fetch(`${server.url}/runs`, { method: 'POST' })).json()) as {
      agentId: string
    }
    const source = new EventSource(`${server.url}/runs/${agentId}/events`)
    const received: Array<{ id: string; type: string }> = []
    for (const type of ['run-start', 'text-delta', 'status-update', 'turn-end', 'run-end']) {
      source.addEventListener(type, (event) => received.push({ id: event.lastEventId, type }))
    }
    // The spec: a 204 answer to a reconnect fails the connection and EventSource stops.
    await until(() => source.readyState === EventSource.CLOSED)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(source.readyState).toBe(EventSource.CLOSED)
    expect(server.starts).toEqual([agentId])
    expect(received.at(-1)?.type).toBe('run-end')
    expect(new Set(received.map((event) => event.id)).size).toBe(received.length)
    const attaches = server.requests.filter((request) => request.path.endsWith('/events'))
    expect(attaches.map((request) => request.status)).toEqual([200, 204])
    expect(attaches[1]?.lastEventId).toBe(received.at(-1)?.id)
  })

  it('onDisconnect continue: a dropped client leaves the run going; a reconnect resumes after its last event', async () => {
    const activity = createActivityTracker()
    const runner = new ScriptedRunner({ activity })
    const { agent, open } = gatedRun()
    const server = await serve(() => runner.runStreamed(agent, 'x'), { onDisconnect: 'continue' })
    const { agentId } = (await (await fetch(`${server.url}/runs`, { method: 'POST' })).json()) as {
      agentId: string
    }
    // First connection: read up to the paused tool call, then drop it.
    const first = new AbortController()
    const response = await fetch(`${server.url}/runs/${agentId}/events`, { signal: first.signal })
    const reader = (response.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .getReader()
    let seen = ''
    while (!seen.includes('event: tool-call-start') && !seen.includes('event: tool-call')) {
      const next = await reader.read()
      if (next.done) break
      seen += next.value
    }
    first.abort()
    await reader.cancel().catch(() => {})
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect((await activity.detail(agentId)).status).toBe('running')
    const before = framesOf(seen).filter((frame) => frame.id !== undefined)
    const lastId = before.at(-1)?.id as string
    open()
    const rest = await (
      await fetch(`${server.url}/runs/${agentId}/events`, { headers: { 'last-event-id': lastId } })
    ).text()
    const after = framesOf(rest).filter((frame) => frame.id !== undefined)
    expect(Number(after[0]?.id)).toBe(Number(lastId) + 1)
    expect(after.at(-1)?.event).toBe('run-end')
    expect((await activity.detail(agentId)).status).toBe('complete')
    // Together, the two connections saw every event of the run once.
    const all = [...before, ...after].map((frame) => Number(frame.id))
    expect(all).toEqual(all.map((_, index) => index + 1))
  })

  it('onDisconnect cancel (the default): a dropped client cancels the run', async () => {
    const activity = createActivityTracker()
    const runner = new ScriptedRunner({ activity })
    const { agent } = gatedRun()
    const server = await serve(() => runner.runStreamed(agent, 'x'))
    const { agentId } = (await (await fetch(`${server.url}/runs`, { method: 'POST' })).json()) as {
      agentId: string
    }
    const connection = new AbortController()
    const response = await fetch(`${server.url}/runs/${agentId}/events`, { signal: connection.signal })
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    await reader.read()
    connection.abort()
    await until(() => server.runs.get(agentId) !== undefined)
    await expect(server.runs.get(agentId)?.result).rejects.toMatchObject({ name: 'RunCanceledError' })
    expect((await activity.detail(agentId)).status).toBe('canceled')
  })
})
