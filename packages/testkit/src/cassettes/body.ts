/** A body as a cassette stores it: UTF-8 text as is, anything else in base64. */
export interface StoredBody {
  body: string | null
  bodyEncoding?: 'base64'
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Stores `bytes` as text when they are valid UTF-8, else as base64; `null` stays `null`. */
export function storeBody(bytes: Uint8Array | null): StoredBody {
  if (bytes === null) return { body: null }
  try {
    return { body: strictUtf8.decode(bytes) }
  } catch {
    return { body: Buffer.from(bytes).toString('base64'), bodyEncoding: 'base64' }
  }
}

/** The bytes of a stored body. */
export function bodyBytes(stored: StoredBody): Uint8Array | null {
  if (stored.body === null) return null
  if (stored.bodyEncoding === 'base64') return new Uint8Array(Buffer.from(stored.body, 'base64'))
  return new TextEncoder().encode(stored.body)
}

/** Reads a request's or response's whole body; `null` when it has none. */
export async function readBody(message: Request | Response): Promise<Uint8Array | null> {
  if (message.body === null) return null
  return new Uint8Array(await message.arrayBuffer())
}
