import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The built CLI (`pnpm build` first: child processes run the package as users get it). */
export const cliPath = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))
/** The shared task module of the tests, loaded by the CLI with Node's type stripping. */
export const tasksPath = fileURLToPath(new URL('./tasks.ts', import.meta.url))

/** A tasks module that exports its own pool (the CLI's second form). */
export const poolModulePath = fileURLToPath(new URL('./pool-module.ts', import.meta.url))

/** A tasks module whose task runs an OpenAIRunner through a rate limiter shared on Redis. */
export const rateLimitedPoolPath = fileURLToPath(new URL('./rate-limited-pool.ts', import.meta.url))

/** A message a chaos task sends its parent over IPC. */
export interface PhaseMessage {
  type: 'phase'
  agentId: string
  /** `gate`: a `gated` task waits at its gate (open it with `openGate`). */
  phase: 'start' | 'mid' | 'late' | 'done' | 'gate'
  pid: number
}

export interface WorkerProcessOptions {
  queueName: string
  prefix: string
  redisUrl: string
  storeUrl: string
  concurrency?: number
  /** More CLI flags (`--lock-duration 2000`...). */
  args?: string[]
  /** The tasks module. Default: the shared test task module, with `--queue` and `--prefix`. */
  module?: string
  /** More environment variables. */
  env?: Record<string, string>
  /** Receives the IPC messages of the tasks. */
  onMessage?: (message: PhaseMessage) => void
}

/** A `runner-worker` child process. */
export class WorkerProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** Resolves once the worker takes jobs (it printed its ready line). */
  readonly ready: Promise<void>
  /** Resolves with the exit code (null if killed by a signal) and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  #stdout = ''
  #stderr = ''

  constructor(options: WorkerProcessOptions) {
    if (!existsSync(cliPath)) {
      throw new Error(`${cliPath} is missing: run \`pnpm build\` before the multi-process tests`)
    }
    const env: NodeJS.ProcessEnv = {}
    for (const [key, value] of Object.entries(process.env)) {
      if (!key.startsWith('RUNNER_')) env[key] = value
    }
    env.RUNNER_REDIS_URL = options.redisUrl
    env.RUNNER_STORE_URL = options.storeUrl
    // The test tasks talk to this process over IPC (see tasks.ts).
    env.TEST_WORKER_IPC = '1'
    Object.assign(env, options.env)
    const queueFlags = options.module ? [] : ['--queue', options.queueName, '--prefix', options.prefix]
    this.child = spawn(
      process.execPath,
      [
        cliPath,
        options.module ?? tasksPath,
        ...queueFlags,
        '--concurrency',
        String(options.concurrency ?? (options.module ? 1 : 2)),
        ...(options.args ?? []),
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
    )
    this.pid = this.child.pid as number
    this.child.stdout?.setEncoding('utf8')
    this.child.stderr?.setEncoding('utf8')
    this.child.stderr?.on('data', (chunk: string) => {
      this.#stderr += chunk
    })
    if (options.onMessage) {
      const onMessage = options.onMessage
      this.child.on('message', (message) => onMessage(message as PhaseMessage))
    }
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => resolve({ code, signal }))
    })
    this.ready = new Promise((resolve, reject) => {
      this.child.stdout?.on('data', (chunk: string) => {
        this.#stdout += chunk
        if (this.#stdout.includes('processing queue')) resolve()
      })
      void this.exited.then(({ code, signal }) =>
        reject(new Error(`runner-worker exited (${code ?? signal}) before it was ready:\n${this.#stderr}`)),
      )
    })
    this.ready.catch(() => {})
  }

  get stdout(): string {
    return this.#stdout
  }

  get stderr(): string {
    return this.#stderr
  }

  /** Lets the `gated` task `agentId` running in this worker return. */
  openGate(agentId: string): void {
    this.child.send({ type: 'open-gate', agentId })
  }

  /** Sends `signal` (SIGKILL: a crash) and waits for the process to be gone. */
  async kill(
    signal: NodeJS.Signals = 'SIGKILL',
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
    return this.exited
  }
}

/** Kills what is still running of `workers` (test cleanup). */
export async function killAll(workers: readonly WorkerProcess[]): Promise<void> {
  await Promise.all(workers.map((worker) => worker.kill('SIGKILL')))
}
