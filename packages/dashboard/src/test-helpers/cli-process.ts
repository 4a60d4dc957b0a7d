import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The built CLI (`pnpm build` first: the tests run the package as users get it). */
export const cliPath = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))

/** The environment of a CLI child: this one's without any RUNNER_* variable, plus `extra`. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('RUNNER_')) env[key] = value
  return { ...env, ...extra }
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `runner <args>` to its end. */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): CliResult {
  const child = spawnSync(process.execPath, [cliPath, ...args], {
    env: childEnv(env),
    encoding: 'utf8',
    timeout: 30_000,
    ...(cwd ? { cwd } : {}),
  })
  return { code: child.status, stdout: child.stdout, stderr: child.stderr }
}

/** `runner <args>` running in the background: its output as it comes, its exit. */
export class CliChild {
  readonly process: ChildProcess
  stdout = ''
  stderr = ''
  readonly exited: Promise<number | null>
  readonly #waiters = new Set<() => void>()

  constructor(args: string[], env: Record<string, string> = {}) {
    this.process = spawn(process.execPath, [cliPath, ...args], {
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.process.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk
      this.#wake()
    })
    this.process.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
      this.#wake()
    })
    this.exited = new Promise((resolve) =>
      this.process.on('exit', (code) => {
        this.#wake()
        resolve(code)
      }),
    )
  }

  /** Waits until the output (stdout, or stderr) matches; fails if the child exits first or time runs out. */
  async waitFor(
    pattern: RegExp,
    stream: 'stdout' | 'stderr' = 'stdout',
    timeoutMs = 20_000,
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const match = this[stream].match(pattern)
      if (match) return match
      if (this.process.exitCode !== null) {
        throw new Error(
          `runner exited (${this.process.exitCode}) before printing ${pattern}:\n${this.stdout}\n${this.stderr}`,
        )
      }
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(
          `runner did not print ${pattern} within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`,
        )
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left)
        const waiters = this.#waiters
        function done() {
          clearTimeout(timer)
          waiters.delete(done)
          resolve()
        }
        waiters.add(done)
      })
    }
  }

  /** Sends `signal` and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    if (this.process.exitCode === null) this.process.kill(signal)
    return this.exited
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake()
  }
}
