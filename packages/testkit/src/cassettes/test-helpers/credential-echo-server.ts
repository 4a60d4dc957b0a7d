import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A running loopback server; `close()` stops it. */
export interface CredentialEchoServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  origin: string
  /** The credential each request carried, as the server saw it. */
  seen: string[]
  close(): Promise<void>
}

/** Every character as a `\uXXXX` escape: JSON that spells the value without containing it. */
export function unicodeEscaped(value: string): string {
  return [...value].map((char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')
}

/**
 * A hostile provider on 127.0.0.1 that sends back the credential of each request (the bearer token
 * of `authorization`, else `nested.apiKey` of a JSON body, else `client_secret` of a form) in every
 * place a recording could keep it: response headers, echoed request headers, a non-UTF-8 body,
 * JSON spelled with `\u` escapes, the echoed path and query, an SSE stream, base64, UTF-16, and an
 * OpenAI-style 401 error.
 */
export async function startCredentialEchoServer(): Promise<CredentialEchoServer> {
  const seen: string[] = []
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const url = new URL(request.url ?? '/', 'http://127.0.0.1')
      const key = credentialOf(request.headers.authorization, body)
      seen.push(key)
      response.setHeader('x-request-echo', `Bearer ${key}`)
      response.setHeader('x-url-echo', `/echo/${encodeURIComponent(key)}`)
      const json = (status: number, value: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' })
        response.end(JSON.stringify(value))
      }
      switch (url.pathname) {
        case '/headers':
          return json(200, { headers: request.headers })
        case '/binary':
          response.writeHead(200, { 'content-type': 'application/octet-stream' })
          return response.end(
            Buffer.concat([Buffer.from([0xff, 0xfe, 0]), Buffer.from(key), Buffer.from([0x80, 0])]),
          )
        case '/escaped':
          response.writeHead(200, { 'content-type': 'application/json' })
          return response.end(`{"echo":"${unicodeEscaped(key)}","note":"spelled with escapes"}`)
        case '/body':
          return json(200, { received: body, length: body.length })
        case '/sse':
          response.writeHead(200, { 'content-type': 'text/event-stream' })
          response.write(`data: ${JSON.stringify({ echo: key })}\n\n`)
          response.write(`event: escaped\ndata: {"echo":"${unicodeEscaped(key)}"}\n\n`)
          response.write(`data: plain text ${key} in a line\n\n`)
          return response.end('data: [DONE]\n\n')
        case '/base64':
          return json(200, { blob: Buffer.from(`credential: ${key};`).toString('base64') })
        case '/utf16':
          response.writeHead(200, { 'content-type': 'application/octet-stream' })
          return response.end(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(key, 'utf16le')]))
        case '/v1/chat/completions':
          return json(401, {
            error: {
              message: `Incorrect API key provided: ${key}. You can find your API key in your account.`,
              type: 'invalid_request_error',
              param: null,
              code: 'invalid_api_key',
            },
          })
        default:
          // The path and query as received (percent-encoded), and decoded.
          return json(200, {
            path: url.pathname,
            query: url.search,
            decoded: decodeURIComponent(url.pathname + url.search),
          })
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}

function credentialOf(authorization: string | undefined, body: string): string {
  if (authorization?.startsWith('Bearer ')) return authorization.slice('Bearer '.length)
  try {
    const parsed = JSON.parse(body) as { nested?: { apiKey?: string } }
    if (typeof parsed.nested?.apiKey === 'string') return parsed.nested.apiKey
  } catch {
    // Not JSON.
  }
  return new URLSearchParams(body).get('client_secret') ?? ''
}
