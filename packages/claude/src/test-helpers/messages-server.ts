import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** A content block of a scripted answer. */
export type ScriptedBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }

/** One scripted Messages answer, sent as JSON or as SSE (as the request asks). */
export interface ScriptedAnswer {
  content: ScriptedBlock[]
  stop_reason: string | null
  usage?: Record<string, unknown>
  stop_details?: Record<string, unknown> | null
  /** Stream only: raw SSE frames sent after `message_start` instead of the blocks and the end. */
  frames?: string[]
}

/** An HTTP error answer. */
export interface ScriptedError {
  status: number
  body: unknown
  headers?: Record<string, string>
}

export type ScriptedReply = ScriptedAnswer | ScriptedError

export interface MessagesServer extends AsyncDisposable {
  /** `baseURL` for the Anthropic client. */
  readonly url: string
  /** The JSON bodies received, in order. */
  readonly requests: Array<Record<string, unknown>>
  close(): Promise<void>
}

const frame = (type: string, data: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`

function messageOf(
  answer: ScriptedAnswer,
  id: string,
  model: string,
  content: unknown[],
): Record<string, unknown> {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: answer.stop_reason,
    stop_sequence: null,
    stop_details: answer.stop_details ?? null,
    container: null,
    usage: {
      input_tokens: 10,
      output_tokens: 5,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      ...answer.usage,
    },
  }
}

function blockJson(block: ScriptedBlock): Record<string, unknown> {
  if (block.type === 'text') return { type: 'text', text: block.text, citations: null }
  if (block.type === 'thinking') return { type: 'thinking', thinking: block.thinking, signature: 'sig' }
  return { type: 'tool_use', id: block.id, name: block.name, input: block.input, caller: { type: 'direct' } }
}

/** The SSE frames of an answer: one delta per block, the usage in message_start and message_delta. */
function framesOf(answer: ScriptedAnswer, id: string, model: string): string[] {
  const usage = messageOf(answer, id, model, []).usage as Record<string, unknown>
  const frames = [frame('message_start', { message: messageOf(answer, id, model, []) })]
  if (answer.frames) return [...frames, ...answer.frames]
  answer.content.forEach((block, index) => {
    if (block.type === 'text') {
      frames.push(
        frame('content_block_start', { index, content_block: { type: 'text', text: '', citations: null } }),
      )
      frames.push(frame('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } }))
    } else if (block.type === 'thinking') {
      frames.push(
        frame('content_block_start', {
          index,
          content_block: { type: 'thinking', thinking: '', signature: '' },
        }),
      )
      frames.push(
        frame('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: block.thinking } }),
      )
      frames.push(
        frame('content_block_delta', { index, delta: { type: 'signature_delta', signature: 'sig' } }),
      )
    } else {
      frames.push(frame('content_block_start', { index, content_block: { ...blockJson(block), input: {} } }))
      frames.push(
        frame('content_block_delta', {
          index,
          delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
        }),
      )
    }
    frames.push(frame('content_block_stop', { index }))
  })
  frames.push(
    frame('message_delta', {
      delta: {
        stop_reason: answer.stop_reason,
        stop_sequence: null,
        stop_details: answer.stop_details ?? null,
      },
      usage,
    }),
  )
  frames.push(frame('message_stop', {}))
  return frames
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
}

/**
 * A tiny loopback Messages server for what the test kit's protocol fake cannot produce (stop
 * reasons `max_tokens`, `pause_turn`, `refusal`..., `event: error` inside a stream, cache writes).
 * It answers `POST /v1/messages` with the next scripted reply, JSON or SSE as the request asks,
 * and fails the request when the script is used up.
 */
export async function startMessagesServer(replies: ScriptedReply[]): Promise<MessagesServer> {
  const requests: Array<Record<string, unknown>> = []
  const sockets = new Set<Socket>()
  let next = 0
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void readJson(request).then((body) => {
      requests.push(body)
      const reply = replies[next++]
      const model = String(body.model)
      if (!reply) {
        response.writeHead(500, { 'content-type': 'application/json', 'x-should-retry': 'false' })
        response.end(
          JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'script used up' } }),
        )
        return
      }
      if ('status' in reply) {
        response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
        response.end(JSON.stringify(reply.body))
        return
      }
      const id = `msg_local_${next}`
      if (body.stream === true) {
        response.writeHead(200, { 'content-type': 'text/event-stream' })
        response.end(framesOf(reply, id, model).join(''))
      } else {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end(JSON.stringify(messageOf(reply, id, model, reply.content.map(blockJson))))
      }
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const close = async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return { url: `http://127.0.0.1:${port}`, requests, close, [Symbol.asyncDispose]: close }
}

/** `frame` for tests that script raw stream frames (`event: error` ...). */
export { frame as sseFrame }
