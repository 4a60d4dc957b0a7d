/**
 * A `fetch` for an SDK client that changes what the protocol fake answered, as a faulty provider
 * would: `rewrite` gets each response body as text (a JSON body, or a whole SSE stream) and the
 * number of the call (0-based), and returns the body the client reads.
 */
export function rewritingFetch(rewrite: (body: string, call: number) => string): typeof fetch {
  let calls = 0
  return async (input, init) => {
    const response = await fetch(input, init)
    const body = rewrite(await response.text(), calls++)
    const headers = new Headers(response.headers)
    headers.delete('content-length')
    return new Response(body, { status: response.status, statusText: response.statusText, headers })
  }
}
