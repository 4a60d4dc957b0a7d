import { InvalidOptionsError, RunCanceledError, type RunEvent, type RunStream } from '@runner/core'
import { redactSecretsIn, type StatusUpdateEvent } from '@runner/core/adapter'
import {
  createUIMessageStream,
  createUIMessageStreamResponse,
  type TextStreamPart,
  type ToolSet,
  toUIMessageStream,
  type UIMessage,
  type UIMessageStreamOptions,
} from 'ai'
import type { AISDKOutput } from './output.js'

/** The response options of `createUIMessageStreamResponse` (status, headers, `keepAliveMs`, `consumeSseStream`). */
type UIMessageStreamResponseInit = Omit<Parameters<typeof createUIMessageStreamResponse>[0], 'stream'>

type Part = TextStreamPart<ToolSet>

/**
 * Turns a run's events into the AI SDK's stream parts: its `native` events (with
 * `includeNative`), one `start`, the `error` or `abort` part of an attempt only when no retry
 * follows, and `finish` only once the run has ended (after its last status update).
 */
class PartsFeed {
  readonly stream: ReadableStream<Part>
  readonly #run: RunStream<AISDKOutput>
  readonly #events: AsyncIterator<RunEvent<AISDKOutput>>
  #controller!: ReadableStreamDefaultController<Part>
  #canceled = false
  #started = false
  #sawNative = false
  #held: Part | undefined
  #finish: Part | undefined
  /** The error the stream's `error` part carries, once the run failed. */
  failure: { error: unknown } | undefined

  constructor(run: RunStream<AISDKOutput>) {
    this.#run = run
    this.#events = run[Symbol.asyncIterator]()
    this.stream = new ReadableStream<Part>({
      start: (controller) => {
        this.#controller = controller
      },
      cancel: async () => {
        this.#canceled = true
        // A pending read may wait for the next event (a hung model call): abort first, then release.
        this.#run.abort(new RunCanceledError('The UI message stream was canceled (the client went away).'))
        await this.#events.return?.()
      },
    })
  }

  /** Whether the first part went out (the UI message has started). */
  get started(): boolean {
    return this.#started
  }

  /** Reads the run to its end, feeding the stream; `onEvent` sees every event once it is fed. */
  async pump(onEvent?: (event: RunEvent<AISDKOutput>) => void): Promise<void> {
    try {
      for (;;) {
        const next = await this.#events.next()
        if (next.done || this.#canceled) break
        if (!this.#feed(next.value)) return
        onEvent?.(next.value)
      }
      this.#close()
    } catch (error) {
      this.#fail(error)
    }
  }

  /** Feeds one event; false when the stream failed. */
  #feed(event: RunEvent<AISDKOutput>): boolean {
    switch (event.type) {
      case 'native': {
        this.#sawNative = true
        const part = event.event as Part
        if (part.type === 'start') {
          if (this.#started) return true
          this.#started = true
        }
        if (part.type === 'error' || part.type === 'abort') this.#held = part
        else if (part.type === 'finish') this.#finish = part
        else this.#enqueue(part)
        return true
      }
      case 'retry':
        // The failed attempt is retried: its end is not the run's.
        this.#held = undefined
        this.#finish = undefined
        return true
      case 'run-end':
        if (!this.#sawNative) {
          this.#fail(
            new InvalidOptionsError(
              [
                {
                  field: 'includeNative',
                  message:
                    'must be true for toAISDKStream / toUIMessageStreamResponse: start the run with runner.runStreamed(agent, input, { includeNative: true })',
                },
              ],
              { subject: 'run options' },
            ),
          )
          return false
        }
        if (this.#finish) this.#enqueue(this.#finish)
        return true
      case 'run-error': {
        const canceled = RunCanceledError.isInstance(event.error)
        const held = this.#held
        const part: Part = canceled
          ? held?.type === 'abort'
            ? held
            : { type: 'abort', reason: (event.error as Error).message }
          : held?.type === 'error'
            ? held
            : { type: 'error', error: event.error }
        if (part.type === 'error') this.failure = { error: part.error }
        this.#enqueue(part)
        return true
      }
      default:
        return true
    }
  }

  #enqueue(part: Part): void {
    if (!this.#canceled) this.#controller.enqueue(part)
  }

  #close(): void {
    if (!this.#canceled) this.#controller.close()
  }

  #fail(error: unknown): void {
    if (!this.#canceled) this.#controller.error(error)
  }
}

/**
 * The AI SDK's own stream (`streamText(...).stream`: `TextStreamPart`s) of a streamed run, for
 * the AI SDK's UI helpers: `toUIMessageStream({ stream: toAISDKStream(run) })`. The run must be
 * started with `includeNative: true` (its parts travel as `native` events); otherwise the stream
 * errors with `InvalidOptionsError` on `includeNative`.
 *
 * It spans the whole run: a failed attempt that is retried keeps its parts (its partial text
 * too) but not its `error` part, and the retry goes on in the same stream (one `start`); `finish`
 * comes once the run has ended; a run that fails ends with an `error` part, a canceled one with
 * `abort`. Canceling the stream (a client that disconnects) cancels the run.
 */
export function toAISDKStream(run: RunStream<AISDKOutput>): ReadableStream<TextStreamPart<ToolSet>> {
  const feed = new PartsFeed(run)
  void feed.pump()
  return feed.stream
}

/** Options of `toUIMessageStreamResponse`: the AI SDK's UI message stream options and response init, and `sendStatus`. */
export type RunUIMessageStreamOptions<UI_MESSAGE extends UIMessage = UIMessage> =
  UIMessageStreamOptions<UI_MESSAGE> &
    UIMessageStreamResponseInit & {
      /**
       * Send the run's status updates once the message has started (every `report_status`,
       * retries, the wrap-up, the final status) as a `data-status` part,
       * `{ status, message, percentage }`, with the id `status-<agentId>`: the message keeps one
       * status part, updated in place, that a `useChat` UI renders from `message.parts`.
       * The final status of a failed run carries
       * what `onError` makes of the error (the AI SDK's `"An error occurred."` by default), the same
       * text as the `error` chunk, never the activity's own `Failed: ...` line. Default `true`.
       */
      sendStatus?: boolean
    }

/** What the AI SDK's UI message stream says of an error when the application gives no `onError`. */
const DEFAULT_ERROR_TEXT = 'An error occurred.'

/** The `data` of the `data-status` part that `toUIMessageStreamResponse` sends. */
export interface RunStatusData {
  status: StatusUpdateEvent['status']
  message: string
  percentage: number | null
}

/**
 * A streamed run as the AI SDK's UI message stream response, the one `useChat` reads (what
 * `streamText(...).toUIMessageStreamResponse()` returns), for a route handler:
 *
 * ```ts
 * export async function POST(request: Request) {
 *   const { messages } = await request.json()
 *   const run = runner.runStreamed(agent, await convertToModelMessages(messages), {
 *     signal: request.signal,
 *     includeNative: true,
 *   })
 *   return toUIMessageStreamResponse(run, { originalMessages: messages })
 * }
 * ```
 *
 * The chunks are the AI SDK's own (`toUIMessageStream` over `toAISDKStream(run)`, with the given
 * options), plus the run's status as a `data-status` part (`sendStatus`), each with secrets
 * redacted (`redactSecrets` from `@runner/core/adapter`: registered values, keys from the
 * environment, key shapes; a secret split across two text deltas is not recognised). A client
 * that disconnects cancels the run.
 */
export function toUIMessageStreamResponse<UI_MESSAGE extends UIMessage = UIMessage>(
  run: RunStream<AISDKOutput>,
  options: RunUIMessageStreamOptions<UI_MESSAGE> = {},
): Response {
  const {
    sendStatus = true,
    status,
    statusText,
    headers,
    keepAliveMs,
    consumeSseStream,
    onError,
    ...streamOptions
  } = options
  // What reaches the browser about an error: the application's masking, or the AI SDK's default;
  // the `error` chunk and the final status say the same.
  const errorText = (error: unknown) => (onError ? onError(error) : DEFAULT_ERROR_TEXT)
  const stream = createUIMessageStream<UI_MESSAGE>({
    async execute({ writer }) {
      const feed = new PartsFeed(run)
      writer.merge(
        toUIMessageStream<ToolSet, UI_MESSAGE>({
          stream: feed.stream,
          ...streamOptions,
          onError: errorText,
          // As the AI SDK decides without our wrapper: tool errors masked when the application masks.
          redactToolErrors: streamOptions.redactToolErrors ?? onError !== undefined,
        }),
      )
      const writeStatus = (data: RunStatusData) =>
        writer.write({ type: 'data-status', id: `status-${run.agentId}`, data } as unknown as Parameters<
          typeof writer.write
        >[0])
      /** The `error` status, held until the run's error is known (the activity's line is not for the browser). */
      let failed: RunStatusData | undefined
      // One reader for both: a status is written right after the part it follows was fed, and
      // `finish` is fed only after the run's last status.
      await feed.pump((event) => {
        if (!sendStatus) return
        if (event.type === 'run-error' && failed) {
          writeStatus({ ...failed, message: errorText(feed.failure?.error ?? event.error) })
          failed = undefined
          return
        }
        if (event.type !== 'status-update' || !feed.started) return
        const data: RunStatusData = {
          status: event.status,
          message: event.message,
          percentage: event.percentage,
        }
        if (event.status === 'error') failed = data
        else writeStatus(data)
      })
      if (failed) writeStatus({ ...failed, message: errorText(feed.failure?.error) })
    },
  })
  return createUIMessageStreamResponse({
    // Every chunk with secrets redacted (`redactSecrets`): the model's text and tool inputs, tool
    // outputs, statuses and errors, before they reach the browser.
    stream: stream.pipeThrough(
      new TransformStream({ transform: (chunk, controller) => controller.enqueue(redactSecretsIn(chunk)) }),
    ),
    ...(status === undefined ? {} : { status }),
    ...(statusText === undefined ? {} : { statusText }),
    ...(headers === undefined ? {} : { headers }),
    ...(keepAliveMs === undefined ? {} : { keepAliveMs }),
    ...(consumeSseStream === undefined ? {} : { consumeSseStream }),
  })
}
