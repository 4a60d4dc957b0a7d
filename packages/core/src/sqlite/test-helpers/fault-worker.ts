/**
 * Child process of `sqlite-errors.test.ts`: opens a store on `<file>`, reads activity `a1`, creates
 * activity `b1` with a message of `<messageBytes>` bytes (default 7), creates `b2` with a short
 * one, lists, and prints one JSON line per step: its value, or the error it failed with.
 *
 * `<user>` is `nobody` (default) or `self`. With `nobody`, a worker started as root first drops to
 * the user and group `nobody` (65534), for whom file permissions hold (root may write any file); a
 * worker started as another user stays that user. `SIGXFSZ` is ignored, so that a write past a
 * file-size limit (`prlimit --fsize`) fails with `EFBIG` instead of killing the process.
 */
await import(new URL('./load-source.ts', import.meta.url).href)

const [file, user = 'nobody', messageBytes = '7'] = process.argv.slice(2)
if (!file) throw new Error('usage: fault-worker.ts <database file> [nobody|self] [messageBytes]')

process.on('SIGXFSZ', () => {})
if (user === 'nobody' && process.getuid?.() === 0 && process.setgid && process.setuid) {
  process.setgid(65534)
  process.setuid(65534)
}

const { SqliteActivityStore } = await import('../sqlite-store.js')

function report(step: string, outcome: { value?: unknown; error?: unknown }): void {
  const error = outcome.error as Record<string, unknown> | undefined
  process.stdout.write(
    `${JSON.stringify({
      step,
      ...(error
        ? {
            error: {
              name: error.name,
              message: error.message,
              reason: error.reason,
              path: error.path,
              errcode: error.errcode,
            },
          }
        : { value: outcome.value ?? null }),
    })}\n`,
  )
}

let store: InstanceType<typeof SqliteActivityStore>
try {
  store = new SqliteActivityStore({ path: file, busyTimeoutMs: 1000 })
  report('open', {})
} catch (error) {
  report('open', { error })
  process.exit(0)
}
for (const [step, work] of [
  ['get', () => store.get('a1')],
  [
    'create',
    () => store.create({ agentId: 'b1', agentType: 'test', message: 'x'.repeat(Number(messageBytes)) }),
  ],
  ['createSmall', () => store.create({ agentId: 'b2', agentType: 'test', message: 'Waiting' })],
  ['list', () => store.list()],
] as const) {
  try {
    report(step, { value: await work() })
  } catch (error) {
    report(step, { error })
  }
}
await store.close()
