import type { HeaderProblem } from './protocol-codec.js'

/**
 * OpenAI's error body, `{ error: { message, type, param, code } }`, with the type and code the API
 * uses for the status (429 `rate_limit_exceeded`, 5xx `server_error`...).
 */
export function openaiErrorBody(status: number, message: string): unknown {
  const [type, code] = openaiErrorKind(status)
  return { error: { message, type, param: null, code } }
}

/** Refuses a request without `Authorization: Bearer <key>`, as the API does. */
export function openaiHeaderProblem(headers: Readonly<Record<string, string>>): HeaderProblem | undefined {
  if (/^Bearer \S/.test(headers.authorization ?? '')) return undefined
  return {
    status: 401,
    message:
      'Missing bearer authentication in header: the OpenAI fake expects `Authorization: Bearer <key>`.',
  }
}

function openaiErrorKind(status: number): [type: string, code: string | null] {
  if (status === 401) return ['invalid_request_error', 'invalid_api_key']
  if (status === 404) return ['invalid_request_error', 'model_not_found']
  if (status === 429) return ['requests', 'rate_limit_exceeded']
  if (status >= 500) return ['server_error', null]
  return ['invalid_request_error', null]
}
