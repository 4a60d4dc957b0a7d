/**
 * One server-sent event on the wire: an optional `event:` line, one `data:` line, a blank line.
 * `data` is JSON-encoded unless it is already a string (`[DONE]`, or deliberately broken data).
 */
export function sseFrame(data: unknown, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data)
  return `${event === undefined ? '' : `event: ${event}\n`}data: ${payload}\n\n`
}

/**
 * The frames that answer one streamed call, and where a `cut-stream` fault cuts them: the first
 * `cutAfter` frames are sent (part of the text, or a tool call with partial arguments), the rest,
 * terminating events included, never are.
 */
export interface SseScript {
  frames: string[]
  cutAfter: number
}

/** Collects frames while a protocol encoder walks a turn; `markCut()` remembers the first cut point. */
export class SseScriptBuilder {
  readonly frames: string[] = []
  #cutAfter: number | undefined

  push(data: unknown, event?: string): this {
    this.frames.push(sseFrame(data, event))
    return this
  }

  /** Cuts after the frames pushed so far, unless an earlier point was already marked. */
  markCut(): void {
    this.#cutAfter ??= this.frames.length
  }

  /** The script; with no marked point (an empty answer) the cut falls after the first frame. */
  build(): SseScript {
    return { frames: this.frames, cutAfter: this.#cutAfter ?? Math.min(1, this.frames.length) }
  }
}

/**
 * Splits text into small word-sized deltas (`'Hello there.'` -> `['Hello', ' there.']`), at least two
 * when the text has two characters or more, so a consumer can observe streaming order.
 */
export function splitText(text: string): string[] {
  const pieces = text.match(/\s*\S+|\s+$/g) ?? []
  if (pieces.length === 1 && text.length >= 2) {
    const middle = Math.ceil(text.length / 2)
    return [text.slice(0, middle), text.slice(middle)]
  }
  return pieces
}

/** Splits a JSON argument string into three pieces (two when it is that short), none empty. */
export function splitArguments(json: string): string[] {
  const count = Math.min(3, json.length)
  if (count <= 1) return [json]
  const size = Math.ceil(json.length / count)
  const pieces: string[] = []
  for (let start = 0; start < json.length; start += size) pieces.push(json.slice(start, start + size))
  return pieces
}

/** How many of `count` deltas a cut stream still sends: about half, at least one, never all. */
export function deltasBeforeCut(count: number): number {
  return Math.max(1, Math.min(count - 1, Math.ceil(count / 2)))
}
