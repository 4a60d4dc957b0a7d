/**
 * Child process of `sqlite-errors.test.ts`: opens a store on `<file>` as an unprivileged user,
 * then reads activity `a1` and creates activity `b1`, and prints one JSON line per step: its value,
 * or the error it failed with. Run as root, it first drops to the user and group `nobody` (65534),
 * for whom file permissions hold (root may write any file); run as another user, it stays that user.
 */
await import(new URL('./load-source.ts', import.meta.url).href)

if (process.getuid?.() === 0 && process.setgid && process.setuid) {
  process.setgid(65534)
  process.setuid(65534)
}

const { SqliteActivityStore } = await import('../sqlite-store.js')

const file = process.argv[2]
if (!file) throw new Error('usage: fault-worker.ts <database file>')

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
  ['create', () => store.create({ agentId: 'b1', agentType: 'test', message: 'Waiting' })],
  ['list', () => store.list()],
] as const) {
  try {
    report(step, { value: await work() })
  } catch (error) {
    report(step, { error })
  }
}
await store.close()
