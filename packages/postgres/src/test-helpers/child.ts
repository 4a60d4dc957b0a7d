import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** A child process running one of the scripts in this folder, with its output split in lines. */
export class Child {
  readonly process: ChildProcess
  readonly lines: string[] = []
  #stderr = ''
  #partial = ''
  readonly #waiters: Array<() => void> = []
  readonly exited: Promise<number | null>

  constructor(script: string, args: string[]) {
    const path = fileURLToPath(new URL(script, import.meta.url))
    this.process = spawn(process.execPath, [path, ...args], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.process.stdout!.setEncoding('utf8')
    this.process.stdout!.on('data', (chunk: string) => {
      const parts = (this.#partial + chunk).split('\n')
      this.#partial = parts.pop() ?? ''
      this.lines.push(...parts)
      for (const wake of this.#waiters.splice(0)) wake()
    })
    this.process.stderr!.setEncoding('utf8')
    this.process.stderr!.on('data', (chunk: string) => {
      this.#stderr += chunk
    })
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code) => {
        for (const wake of this.#waiters.splice(0)) wake()
        resolve(code)
      })
    })
  }

  get stderr(): string {
    return this.#stderr
  }

  /** Waits until a line equal to `line` was printed; fails if the process exits or time runs out. */
  async waitForLine(line: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.lines.includes(line)) {
      if (this.process.exitCode !== null) {
        throw new Error(
          `the child exited (${this.process.exitCode}) before printing "${line}": ${this.#stderr}`,
        )
      }
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(`the child did not print "${line}" within ${timeoutMs} ms: ${this.#stderr}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Waits for the exit code; kills the child and fails if it runs longer than `timeoutMs`. */
  async exit(timeoutMs: number): Promise<number | null> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs)
    })
    const outcome = await Promise.race([this.exited, timedOut]).finally(() => clearTimeout(timer))
    if (outcome === 'timeout') {
      this.kill()
      throw new Error(
        `the child did not exit within ${timeoutMs} ms; it printed ${this.lines.length} line(s): ${this.#stderr}`,
      )
    }
    return outcome
  }

  kill(): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL')
  }
}
