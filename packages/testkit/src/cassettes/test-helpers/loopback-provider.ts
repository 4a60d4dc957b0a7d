import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'

/** What the server received, to prove that the secrets did go over the wire. */
export interface ReceivedRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

/** Secrets the server sends back, which no cassette may contain. */
export const RESPONSE_SECRETS = {
  cookie: 'session=cookie-secret-789',
  organization: 'org-secret-000',
  token: 'resp-token-secret-321',
}

/** A running loopback server; `close()` stops it. */
export interface LoopbackProvider {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  origin: string
  received: ReceivedRequest[]
  close(): Promise<void>
}

/**
 * A tiny provider on 127.0.0.1 (ephemeral port) that answers just enough of the OpenAI Chat
 * Completions and Anthropic Messages APIs, JSON and SSE, echoing the last user message so that
 * different requests get different answers. Plus a few routes for the recorder's edge cases.
 */
export async function startLoopbackProvider(): Promise<LoopbackProvider> {
  const received: ReceivedRequest[] = []
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const url = new URL(request.url ?? '/', 'http://127.0.0.1')
      received.push({
        method: request.method ?? 'GET',
        url: url.pathname + url.search,
        headers: request.headers,
        body,
      })
      response.setHeader('set-cookie', RESPONSE_SECRETS.cookie)
      response.setHeader('openai-organization', RESPONSE_SECRETS.organization)
      response.setHeader('x-session-token', RESPONSE_SECRETS.token)
      response.setHeader('x-request-id', `req_${received.length}`)
      route(request.method ?? 'GET', url, body, response)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}

function route(method: string, url: URL, body: string, response: ServerResponse): void {
  if (method === 'POST' && url.pathname === '/v1/chat/completions') {
    chatCompletion(JSON.parse(body), response)
  } else if (method === 'POST' && url.pathname === '/v1/messages') {
    anthropicMessage(JSON.parse(body), response)
  } else if (url.pathname === '/gzip') {
    response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
    response.end(gzipSync(JSON.stringify({ compressed: true })))
  } else if (url.pathname === '/binary') {
    response.writeHead(200, { 'content-type': 'audio/mpeg' })
    response.end(Buffer.from([0, 255, 254, 1, 128, 10]))
  } else if (url.pathname === '/empty') {
    response.writeHead(204)
    response.end()
  } else if (url.pathname === '/fail') {
    response.writeHead(500, 'Internal Server Error', { 'content-type': 'application/json' })
    response.end(JSON.stringify({ error: { message: 'boom', type: 'server_error' } }))
  } else {
    // Echoes what it got, for the recorder's tests.
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ method, path: url.pathname, query: url.search, body }))
  }
}

interface ChatRequest {
  model: string
  stream?: boolean
  messages: Array<{ role: string; content: string }>
}

function lastUserText(messages: Array<{ role: string; content: unknown }>): string {
  const content = messages.filter((message) => message.role === 'user').at(-1)?.content
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map((part: { text?: string }) => part.text ?? '').join('')
  return ''
}

function chatCompletion(request: ChatRequest, response: ServerResponse): void {
  const text = `echo: ${lastUserText(request.messages)}`
  const base = { id: 'chatcmpl-1', created: 1_700_000_000, model: request.model }
  const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 }
  if (!request.stream) {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(
      JSON.stringify({
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: text, refusal: null },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
        usage,
      }),
    )
    return
  }
  const chunk = (choices: unknown[], extra: object = {}) =>
    `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices, ...extra })}\n\n`
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  response.write(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]))
  for (const piece of text.match(/.{1,4}/g) ?? []) {
    response.write(chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]))
  }
  response.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]))
  response.write(chunk([], { usage }))
  response.end('data: [DONE]\n\n')
}

interface AnthropicRequest {
  model: string
  stream?: boolean
  messages: Array<{ role: string; content: unknown }>
}

function anthropicMessage(request: AnthropicRequest, response: ServerResponse): void {
  const text = `echo: ${lastUserText(request.messages)}`
  const message = {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: request.model,
    stop_reason: 'end_turn',
    stop_sequence: null,
  }
  if (!request.stream) {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(
      JSON.stringify({
        ...message,
        content: [{ type: 'text', text }],
        usage: { input_tokens: 5, output_tokens: 3 },
      }),
    )
    return
  }
  const event = (type: string, data: object) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
  response.writeHead(200, { 'content-type': 'text/event-stream' })
  response.write(
    event('message_start', {
      message: { ...message, stop_reason: null, content: [], usage: { input_tokens: 5, output_tokens: 0 } },
    }),
  )
  response.write(event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }))
  for (const piece of text.match(/.{1,4}/g) ?? []) {
    response.write(event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } }))
  }
  response.write(event('content_block_stop', { index: 0 }))
  response.write(
    event('message_delta', {
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 3 },
    }),
  )
  response.end(event('message_stop', {}))
}
