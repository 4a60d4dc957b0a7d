import { type ChildProcess, fork } from 'node:child_process'

/** What a batch's scenario plays, `runs` times in a row. */
export type ScenarioSpec =
  /** A two-turn tool run: a `search` call, then a one-sentence answer. */
  | { kind: 'tool-then-text'; runs: number }
  /** One turn of text of `words` words, streamed as one delta per word. */
  | { kind: 'long-text'; runs: number; words: number }

/** What the benchmark asks the server process. */
export type FakeCommand =
  | { type: 'start'; frameDelayMs: number }
  | { type: 'play'; model: string; spec: ScenarioSpec }
  | { type: 'errors' }
  | { type: 'close' }

export type FakeRequest = FakeCommand & { id: number }

export interface FakeResponse {
  id: number
  ok: boolean
  error?: string
  url?: string
  errors?: string[]
}

/**
 * The test kit's protocol fake (`startProtocolFake`: OpenAI Chat Completions and Responses,
 * Anthropic Messages) running in a child process. Every batch registers its own scenario under
 * its own model name, so that batches never share turns.
 */
export class FakeServer {
  readonly #child: ChildProcess
  readonly #pending = new Map<number, (response: FakeResponse) => void>()
  #next = 0
  #url = ''

  private constructor() {
    // No inherited flags (`--cpu-prof`, `--expose-gc`): the server is not what is measured.
    this.#child = fork(new URL('./fake-server-worker.ts', import.meta.url), [], {
      execArgv: [],
      stdio: 'inherit',
    })
    this.#child.on('message', (response: FakeResponse) => {
      this.#pending.get(response.id)?.(response)
      this.#pending.delete(response.id)
    })
  }

  static async start(options: { frameDelayMs?: number } = {}): Promise<FakeServer> {
    const server = new FakeServer()
    const { url } = await server.#send({ type: 'start', frameDelayMs: options.frameDelayMs ?? 0 })
    server.#url = url ?? ''
    return server
  }

  get openaiBaseURL(): string {
    return `${this.#url}/v1`
  }

  get anthropicBaseURL(): string {
    return this.#url
  }

  /** Registers `spec` for requests that name `model`. */
  async play(model: string, spec: ScenarioSpec): Promise<void> {
    await this.#send({ type: 'play', model, spec })
  }

  /** What the fake refused so far (calls beyond a script, unknown models): empty when all went as scripted. */
  async errors(): Promise<string[]> {
    return (await this.#send({ type: 'errors' })).errors ?? []
  }

  /** Throws when the fake refused a request: a contender did not play its script as expected. */
  async assertClean(): Promise<void> {
    const errors = await this.errors()
    if (errors.length > 0)
      throw new Error(`the fake server refused requests: ${errors.slice(0, 3).join(' | ')}`)
  }

  async close(): Promise<void> {
    await this.#send({ type: 'close' })
    const exited = new Promise((resolve) => this.#child.once('exit', resolve))
    this.#child.disconnect()
    await exited
  }

  #send(command: FakeCommand): Promise<FakeResponse> {
    const id = ++this.#next
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (response) =>
        response.ok ? resolve(response) : reject(new Error(`fake server: ${response.error}`)),
      )
      this.#child.send({ ...command, id })
    })
  }
}
