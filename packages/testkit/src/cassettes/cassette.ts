import { readFileSync } from 'node:fs'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'

/** The standard `fetch` signature, as the `fetch` option of the OpenAI, Anthropic, AI SDK and LangChain clients takes it. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** A request as recorded: secrets removed. */
export interface CassetteRequest {
  /** Upper-case HTTP method. */
  method: string
  /** Full URL, without the query parameters that carry API keys, secrets in its path and query as `[REDACTED]`. */
  url: string
  /** Header names in lower case; secret headers are never written, secrets in other values are `[REDACTED]`. */
  headers: Record<string, string>
  /** The body as text, or `null` when the request had none; secret-named JSON and form fields are `[REDACTED]`. */
  body: string | null
  /** `'base64'` when the body is not UTF-8 text (a file upload); absent for text. */
  bodyEncoding?: 'base64'
}

/** A response as recorded, body read to the end (a whole SSE stream included). */
export interface CassetteResponse {
  status: number
  statusText: string
  /**
   * Header names in lower case; secret headers are never written, secrets in other values are
   * `[REDACTED]`. `content-encoding`,
   * `content-length` and the connection headers are left out because the body is kept decoded.
   */
  headers: Record<string, string>
  /** The body as text (JSON, or the raw `text/event-stream`), or `null` for a response without one. */
  body: string | null
  /** `'base64'` when the body is not UTF-8 text (audio, images); absent for text. */
  bodyEncoding?: 'base64'
}

/** One request and the response it got. */
export interface CassetteInteraction {
  request: CassetteRequest
  response: CassetteResponse
}

/** The content of a cassette file: pretty JSON, one file per cassette. */
export interface Cassette {
  /** Format version, 1. */
  version: 1
  /** Interactions in the order they completed. */
  interactions: CassetteInteraction[]
}

/** Reads and checks a cassette file; throws an error that names the file and says what to do. */
export function readCassette(file: string): Cassette {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`Cassette ${file} does not exist: record it first with recordingFetch({ file }).`)
    }
    throw error
  }
  return parseCassette(text, file)
}

/** Parses the text of a cassette file. */
export function parseCassette(text: string, file: string): Cassette {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new Error(
      `Cassette ${file} is not valid JSON (${(error as Error).message}): record it again with recordingFetch.`,
    )
  }
  const cassette = value as Partial<Cassette> | null
  if (cassette?.version !== 1 || !Array.isArray(cassette.interactions)) {
    throw new Error(
      `Cassette ${file} is not a version 1 cassette ({ "version": 1, "interactions": [...] }): record it again with recordingFetch.`,
    )
  }
  for (const [index, interaction] of cassette.interactions.entries()) {
    if (
      typeof interaction?.request?.method !== 'string' ||
      typeof interaction.request.url !== 'string' ||
      typeof interaction.response?.status !== 'number'
    ) {
      throw new Error(
        `Cassette ${file}: interaction ${index} lacks request.method, request.url or response.status: record it again with recordingFetch.`,
      )
    }
  }
  return cassette as Cassette
}

/**
 * Writes the cassette as pretty JSON, creating the directory. The text goes to a temporary file
 * first and is renamed over the cassette, so a crash mid-write never leaves half a file.
 */
export async function writeCassette(file: string, cassette: Cassette): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true })
  const temporary = `${file}.${process.pid}.tmp`
  await writeFile(temporary, `${JSON.stringify(cassette, null, 2)}\n`)
  await rename(temporary, file)
}
