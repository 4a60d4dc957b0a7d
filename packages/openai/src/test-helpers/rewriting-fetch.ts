/**
 * A `fetch` that changes what the protocol fake answers, for wire shapes a scenario cannot script
 * (tool arguments that are not JSON, a stream without its finish event, fields of compatible
 * servers). `rewrite` gets each JSON body, or each SSE event's JSON data, and returns it changed,
 * or `undefined` to drop that SSE event. The whole answer is read before it is handed on (no live
 * streaming). The SDK and the runner are the real ones.
 */
export function rewritingFetch(rewrite: (data: Record<string, unknown>) => unknown): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init)
    const type = response.headers.get('content-type') ?? ''
    if (!response.ok || !(type.includes('json') || type.includes('event-stream'))) return response
    const text = await response.text()
    const body = type.includes('json')
      ? JSON.stringify(rewrite(JSON.parse(text)))
      : text
          .split('\n\n')
          .flatMap((frame) => rewriteFrame(frame, rewrite))
          .join('\n\n')
    const headers = new Headers(response.headers)
    headers.delete('content-length')
    return new Response(body, { status: response.status, statusText: response.statusText, headers })
  }
}

function rewriteFrame(frame: string, rewrite: (data: Record<string, unknown>) => unknown): string[] {
  const lines = frame.split('\n')
  const position = lines.findIndex((line) => line.startsWith('data: '))
  const data = position >= 0 ? lines[position]!.slice(6) : undefined
  if (data === undefined || data === '[DONE]') return [frame]
  const changed = rewrite(JSON.parse(data))
  if (changed === undefined) return []
  lines[position] = `data: ${JSON.stringify(changed)}`
  return [lines.join('\n')]
}

/**
 * Replaces the arguments of every tool call in a Chat Completions or Responses body or event by
 * `broken` (the first piece of a streamed call) and '' (its later pieces), as a model that writes
 * invalid JSON would.
 */
export function breakToolArguments(broken: string): (data: Record<string, unknown>) => unknown {
  const visit = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(visit)
    if (typeof value !== 'object' || value === null) return value
    const record = { ...(value as Record<string, unknown>) }
    for (const [key, field] of Object.entries(record)) record[key] = visit(field)
    // Chat: { id?, function: { name?, arguments } }; the first streamed piece carries the id.
    const fn = record.function as Record<string, unknown> | undefined
    if (fn && typeof fn.arguments === 'string') {
      record.function = { ...fn, arguments: record.id ? broken : '' }
    }
    // Responses: function_call items, and the arguments events.
    if (record.type === 'function_call' && typeof record.arguments === 'string') record.arguments = broken
    if (record.type === 'response.function_call_arguments.done') record.arguments = broken
    if (record.type === 'response.function_call_arguments.delta') record.delta = ''
    return record
  }
  return (data) => visit(data)
}

/** What {@link rewritingErrors} changes in an error answer. */
export interface ErrorAnswerChange {
  /** The body sent instead of the fake's JSON error body. Default: the fake's. */
  body?: string
  /** Its content type. Default: the fake's (`application/json`). */
  contentType?: string
  /** Headers added to the answer (`retry-after`...). */
  headers?: Record<string, string>
}

/**
 * A `fetch` that changes the protocol fake's error answers (status >= 400), for what a scenario
 * cannot script: another body (an HTML page from a proxy, a compatible server's own error shape)
 * and headers. The status stays; successful answers pass through unchanged.
 */
export function rewritingErrors(change: ErrorAnswerChange): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init)
    if (response.ok) return response
    const text = await response.text()
    const headers = new Headers(response.headers)
    headers.delete('content-length')
    if (change.contentType) headers.set('content-type', change.contentType)
    for (const [name, value] of Object.entries(change.headers ?? {})) headers.set(name, value)
    return new Response(change.body ?? text, {
      status: response.status,
      statusText: response.statusText,
      headers,
    })
  }
}
