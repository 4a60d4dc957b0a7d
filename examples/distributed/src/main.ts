/**
 * One command for the whole deployment on this machine: two worker processes and the API
 * process, on Redis (BullMQ) and PostgreSQL.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres pnpm --filter @runner/example-distributed start
 *
 * Without REDIS_URL or DATABASE_URL it says what is missing and exits (code 0). Each run uses a
 * queue of its own (removed at the end); the activities stay in the PostgreSQL schema
 * `runner_distributed` (DISTRIBUTED_SCHEMA) for you to look at.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Queue } from 'bullmq'

if (!process.env.REDIS_URL || !process.env.DATABASE_URL) {
  console.log(
    'examples/distributed needs Redis and PostgreSQL: set REDIS_URL and DATABASE_URL (e.g. REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres). Skipped.',
  )
  process.exit(0)
}

const queueName = process.env.DISTRIBUTED_QUEUE ?? `research-${Date.now().toString(36)}`
const env = { ...process.env, DISTRIBUTED_QUEUE: queueName }
const script = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url))

/** Starts a child, prefixing its output lines; resolves `ready` once it prints `readyText`. */
function start(name: string, label: string, readyText?: string) {
  const child = spawn(process.execPath, [script(name)], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  )
  const ready = new Promise<void>((resolve, reject) => {
    if (!readyText) resolve()
    let buffered = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) {
        console.log(label ? `${label} ${line}` : line)
        if (readyText && line.includes(readyText)) resolve()
      }
    })
    void exited.then((code) => reject(new Error(`${name} exited with code ${code} before it was ready`)))
  })
  ready.catch(() => {})
  child.stderr
    .setEncoding('utf8')
    .on('data', (chunk: string) => process.stderr.write(label ? `${label} ${chunk}` : chunk))
  return { child, ready, exited }
}

const workers = [start('worker.ts', '[worker 1]', 'ready'), start('worker.ts', '[worker 2]', 'ready')]
let code = 1
try {
  await Promise.all(workers.map((worker) => worker.ready))
  const api = start('api.ts', '')
  code = await api.exited
} finally {
  // A graceful stop, as an orchestrator does it: SIGTERM, then the workers finish and exit.
  for (const worker of workers) stop(worker.child)
  await Promise.all(workers.map((worker) => worker.exited))
  const queue = new Queue(queueName, { connection: { url: process.env.REDIS_URL } })
  await queue.obliterate({ force: true }).catch(() => {})
  await queue.close()
}
process.exitCode = code

function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
}
