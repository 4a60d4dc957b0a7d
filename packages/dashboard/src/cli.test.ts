import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ActivityStore } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { PostgresActivityStore } from '@runner/postgres'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CliChild, cliPath, runCli } from './test-helpers/cli-process.js'

const databaseUrl = process.env.DATABASE_URL
const version = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version

/** `pg`, borrowed from @runner/postgres: only to drop the test schemas. */
const pg = createRequire(import.meta.resolve('@runner/postgres'))('pg') as {
  Pool: new (options: {
    connectionString: string
    max: number
  }) => {
    query(sql: string): Promise<unknown>
    end(): Promise<void>
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'runner-cli-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const children: CliChild[] = []
function start(args: string[], env: Record<string, string> = {}): CliChild {
  const child = new CliChild(args, env)
  children.push(child)
  return child
}
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.stop('SIGKILL')))
})

/** A store the CLI opens from its URL, written by this process as another process would. */
interface Backend {
  store: ActivityStore
  url: string
  cleanup(): Promise<void>
}

function sqliteBackend(): Backend {
  const path = join(mkdtempSync(join(scratch, 'sqlite-')), 'runs.db')
  const store = new SqliteActivityStore({ path })
  return { store, url: `sqlite:${path}`, cleanup: () => store.close() }
}

function postgresBackend(): Backend {
  const url = databaseUrl as string
  const schema = `runner_cli_${randomBytes(4).toString('hex')}`
  const store = new PostgresActivityStore({ connectionString: url, schema })
  const storeUrl = new URL(url)
  storeUrl.searchParams.set('schema', schema)
  return {
    store,
    url: storeUrl.toString(),
    async cleanup() {
      await store.close()
      const admin = new pg.Pool({ connectionString: url, max: 1 })
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      } finally {
        await admin.end()
      }
    },
  }
}

/** Three runs: one running (acme), one complete with a trajectory (globex), one waiting for an approval (acme). */
async function seed(store: ActivityStore): Promise<void> {
  await store.create({
    agentId: 'run-1',
    agentType: 'research',
    message: 'Queued',
    metadata: { tenant: 'acme' },
  })
  await store.append('run-1', {
    status: 'running',
    message: 'Searching the web',
    percentage: 40,
    kind: 'progress',
  })

  await store.create({
    agentId: 'run-2',
    agentType: 'support',
    message: 'Queued',
    metadata: { tenant: 'globex' },
  })
  await store.append('run-2', { status: 'running', message: 'Started', kind: 'lifecycle' })
  await store.append('run-2', { status: 'complete', message: 'Answered', percentage: 100, kind: 'lifecycle' })
  const at = new Date().toISOString()
  await store.saveTrajectory('run-2', {
    agentId: 'run-2',
    agentType: 'support',
    status: 'complete',
    startedAt: at,
    finishedAt: at,
    usage: { inputTokens: 1000, outputTokens: 234, totalTokens: 1234 },
    steps: [
      { index: 0, kind: 'model-call', attempt: 1, turn: 1, at, data: {} },
      { index: 1, kind: 'tool-call', attempt: 1, turn: 1, at, data: {} },
      { index: 2, kind: 'model-call', attempt: 1, turn: 2, at, data: {} },
    ],
  })

  await store.create({ agentId: 'run-3', agentType: 'mail', message: 'Queued', metadata: { tenant: 'acme' } })
  await store.append('run-3', { status: 'running', message: 'Started', kind: 'lifecycle' })
  await store.append('run-3', {
    status: 'waiting',
    message: 'Waiting for approval',
    kind: 'approval',
    pending: [
      { id: 'call_1', kind: 'approval', toolName: 'send_email', input: { to: 'ada@example.com' } },
      { id: 'call_2', kind: 'approval', toolName: 'pay', input: { amount: 10 } },
    ],
  })
}

describe.skipIf(!existsSync(cliPath))('runner (no store needed)', () => {
  it('prints --help for the program and every command, and --version', { timeout: 60_000 }, () => {
    const help = runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: runner \[options\] \[command\]/)
    for (const command of ['dashboard', 'ls', 'show', 'watch', 'tail', 'cancel', 'approve']) {
      expect(help.stdout).toContain(command)
      const own = runCli([command, '--help'])
      expect(own.code, command).toBe(0)
      expect(own.stdout, command).toMatch(new RegExp(`^Usage: runner ${command} `))
      expect(own.stdout, command).toContain('--store <url>')
      expect(own.stdout, command).toContain('--metadata <key=value>')
    }
    const version = runCli(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toBe(versionOfPackage())
  })

  it('exits 2 on a usage error, naming it', { timeout: 30_000 }, () => {
    const unknown = runCli(['lss'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("runner: unknown command 'lss'")
    const limit = runCli(['ls', '--limit', '0', '--store', 'sqlite:./x.db'])
    expect(limit.code).toBe(2)
    expect(limit.stderr).toContain('--limit must be an integer from 1 to 1000')
    const status = runCli(['ls', '--status', 'running,done'])
    expect(status.code).toBe(2)
    expect(status.stderr).toContain(
      '"done" is not one of queued, running, waiting, complete, error, canceled',
    )
    const metadata = runCli(['ls', '--metadata', 'acme'])
    expect(metadata.code).toBe(2)
    expect(metadata.stderr).toContain('must be key=value')
    const missing = runCli(['show'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("missing required argument 'id'")
  })

  it('says which store to give when none is given, or the URL is wrong (exit 2)', { timeout: 30_000 }, () => {
    const none = runCli(['ls'])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain(
      'runner: no store given: give the store your runs are written to with --store (or RUNNER_STORE_URL)',
    )
    const bad = runCli(['ls', '--store', 'mysql://db/runs'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain(
      'runner: --store must be sqlite:<path>, file:<path> or a postgres:// or postgresql:// URL, got "mysql://db/runs"',
    )
    const badVariable = runCli(['ls'], { RUNNER_STORE_URL: 'runs.db' })
    expect(badVariable.code).toBe(2)
    expect(badVariable.stderr).toContain('runner: RUNNER_STORE_URL must be sqlite:<path>')
    const memory = runCli(['ls', '--store', 'sqlite::memory:'])
    expect(memory.code).toBe(2)
    expect(memory.stderr).toContain('in-memory SQLite database')
  })

  it('refuses a missing SQLite file without creating it (exit 1)', { timeout: 30_000 }, () => {
    const path = join(scratch, 'missing.db')
    for (const args of [['ls'], ['show', 'run-1'], ['watch', 'run-1'], ['tail'], ['cancel', 'run-1']]) {
      const result = runCli([...args, '--store', `sqlite:${path}`])
      expect(result.code, args[0]).toBe(1)
      expect(result.stderr).toContain(`runner: no SQLite database at ${path}: check the path`)
    }
    expect(existsSync(path)).toBe(false)
  })

  it('dashboard on a file that does not exist yet creates an empty store, says so, and serves the page', {
    timeout: 60_000,
  }, async () => {
    const path = join(scratch, 'new-dashboard.db')
    const served = start(['dashboard', '--store', `sqlite:${path}`, '--port', '0'])
    const [address] = await served.waitFor(/^http:\/\/127\.0\.0\.1:\d+\/$/m)
    expect(await (await fetch(`${address}api/runs`)).json()).toEqual({ items: [], total: 0 })
    const page = await fetch(address as string)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(await served.stop('SIGINT')).toBe(0)
    expect(served.stderr).toContain(
      `runner: no SQLite database at ${path} yet: creating an empty store there`,
    )
    expect(existsSync(path)).toBe(true)
  })

  it('says which PostgreSQL server refused the connection, without a stack trace (exit 1)', {
    timeout: 30_000,
  }, () => {
    for (const args of [['ls'], ['show', 'run-1'], ['tail'], ['watch'], ['dashboard', '--port', '0']]) {
      const result = runCli([...args, '--store', 'postgres://runner:secret@127.0.0.1:1/runs'])
      expect(result.code, args[0]).toBe(1)
      expect(result.stderr.trim()).toBe(
        'runner: cannot connect to PostgreSQL at 127.0.0.1:1 (connection refused): check that the server is running and the URL is right',
      )
    }
  })
})

function versionOfPackage(): string {
  return version
}

const backends: [string, () => Backend][] = [
  ['SQLite', sqliteBackend],
  ...(databaseUrl ? ([['PostgreSQL', postgresBackend]] as [string, () => Backend][]) : []),
]

describe.skipIf(!existsSync(cliPath)).each(backends)('runner over %s', (_name, open) => {
  let backend: Backend
  let store: ActivityStore
  let url: string
  beforeEach(async () => {
    backend = open()
    store = backend.store
    url = backend.url
    await seed(store)
  })
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.stop('SIGKILL')))
    await backend.cleanup()
  })

  it('ls: a table of runs, unfinished first; filters; JSON', { timeout: 60_000 }, () => {
    const table = runCli(['ls', '--store', url])
    expect(table.code).toBe(0)
    const lines = table.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+%\s+AGENT TYPE\s+AGE\s+MESSAGE$/)
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 4))).toEqual([
      ['run-3', 'waiting', '0', 'mail'],
      ['run-1', 'running', '40', 'research'],
      ['run-2', 'complete', '100', 'support'],
    ])
    expect(lines[2]).toMatch(/\d+s\s+Searching the web$/)

    const running = runCli(['ls', '--store', url, '--status', 'running,complete', '--json'])
    const page = JSON.parse(running.stdout) as { items: { agentId: string }[]; total: number }
    expect(page.items.map((item) => item.agentId)).toEqual(['run-1', 'run-2'])
    expect(page.total).toBe(2)

    const acme = JSON.parse(
      runCli(['ls', '--store', url, '--metadata', 'tenant=acme', '--json']).stdout,
    ) as typeof page
    expect(acme.items.map((item) => item.agentId).sort()).toEqual(['run-1', 'run-3'])

    const byType = runCli(['ls', '--store', url, '--agent-type', 'support'])
    expect(byType.stdout.trimEnd().split('\n').slice(1)).toHaveLength(1)
    expect(byType.stdout).toContain('run-2')

    const limited = runCli(['ls', '--store', url, '--limit', '1'])
    expect(limited.stdout).toContain('1 of 3 runs; --limit shows more')

    const none = runCli(['ls', '--store', url, '--metadata', 'tenant=initech'])
    expect(none.code).toBe(0)
    expect(none.stdout.trim()).toBe('No runs.')
  })

  it('show: the run, its log, its trajectory summary and pending approvals', { timeout: 60_000 }, () => {
    const done = runCli(['show', 'run-2', '--store', url])
    expect(done.code).toBe(0)
    expect(done.stdout).toMatch(/^run-2 {2}complete {2}100% {2}support/)
    expect(done.stdout).toContain('Log (3 entries)')
    expect(done.stdout).toMatch(/complete\s+100%\s+Answered/)
    expect(done.stdout).toContain('turns   2')
    expect(done.stdout).toContain('tokens  1,234 (1,000 in, 234 out)')
    expect(done.stdout).toContain('steps   3 (2 model-call, 1 tool-call)')

    const waiting = runCli(['show', 'run-3', '--store', url])
    expect(waiting.stdout).toContain('Pending requests (2 of 2 undecided)')
    expect(waiting.stdout).toContain('call_1  send_email {"to":"ada@example.com"}  undecided')
    expect(waiting.stdout).toContain('Decide with: runner approve run-3 call_1 [--deny]')

    const json = JSON.parse(runCli(['show', 'run-2', '--store', url, '--json']).stdout) as {
      activity: { agentId: string; log: unknown[] }
      trajectory: { turns: number; steps: number; usage: { totalTokens: number } }
      pending: unknown[]
    }
    expect(json.activity.agentId).toBe('run-2')
    expect(json.activity.log).toHaveLength(3)
    expect(json.trajectory).toMatchObject({ turns: 2, steps: 3, usage: { totalTokens: 1234 } })
    expect(json.pending).toEqual([])
  })

  it('an unknown id, or a run outside --metadata, is "no run <id>" (exit 1) for every command', {
    timeout: 60_000,
  }, () => {
    for (const args of [
      ['show', 'nope'],
      ['cancel', 'nope'],
      ['approve', 'nope', 'call_1'],
      ['watch', 'nope'],
    ]) {
      const result = runCli([...args, '--store', url])
      expect(result.code, args[0]).toBe(1)
      expect(result.stderr.trim()).toBe('runner: no run nope')
    }
    const hidden = runCli(['show', 'run-2', '--store', url, '--metadata', 'tenant=acme'])
    expect(hidden.code).toBe(1)
    expect(hidden.stderr.trim()).toBe('runner: no run run-2')
    const cancel = runCli(['cancel', 'run-1', '--store', url, '--metadata', 'tenant=globex'])
    expect(cancel.code).toBe(1)
  })

  it('cancel: marks a running run canceled in the store; a second cancel is a no-op; an ended run exits 1', {
    timeout: 60_000,
  }, async () => {
    const first = runCli(['cancel', 'run-1', '--store', url])
    expect(first.code).toBe(0)
    expect(first.stdout).toContain(
      'Canceled run-1 (it was running). The process running it stops at its next write',
    )
    const activity = await store.get('run-1')
    expect(activity?.status).toBe('canceled')
    expect(activity?.log.at(-1)).toMatchObject({ message: 'Canceled with the runner CLI', kind: 'lifecycle' })
    // The process running it: its next write is refused.
    await expect(store.append('run-1', { status: 'running', message: 'Still going' })).rejects.toThrow()

    const again = runCli(['cancel', 'run-1', '--store', url, '--json'])
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout)).toEqual({ agentId: 'run-1', canceled: false, status: 'canceled' })

    const ended = runCli(['cancel', 'run-2', '--store', url])
    expect(ended.code).toBe(1)
    expect(ended.stderr.trim()).toBe('runner: run-2 has already ended (complete): nothing to cancel')
    expect((await store.get('run-2'))?.status).toBe('complete')
  })

  it('approve / --deny: records the decision in the store and says the pool resumes the run', {
    timeout: 60_000,
  }, async () => {
    const approved = runCli([
      'approve',
      'run-3',
      'call_1',
      '--store',
      url,
      '--input',
      '{"to":"grace@example.com"}',
      '--by',
      'ops',
    ])
    expect(approved.code).toBe(0)
    expect(approved.stdout).toContain('Approved call_1 of run-3: the decision is recorded in the store.')
    expect(approved.stdout).toContain('run-3 still waits for 1 more decision (call_2)')
    expect(approved.stdout).toContain("pool.resume('run-3')")
    let record = await store.getRun('run-3')
    expect(record?.pending?.[0]?.decision).toMatchObject({
      type: 'approve',
      input: { to: 'grace@example.com' },
      by: 'ops',
    })

    const denied = runCli([
      'approve',
      'run-3',
      'call_2',
      '--deny',
      '--reason',
      'not today',
      '--store',
      url,
      '--json',
    ])
    expect(denied.code).toBe(0)
    expect(JSON.parse(denied.stdout)).toEqual({
      agentId: 'run-3',
      toolCallId: 'call_2',
      decision: 'deny',
      status: 'waiting',
      undecided: [],
    })
    record = await store.getRun('run-3')
    expect(record?.pending?.[1]?.decision).toMatchObject({ type: 'deny', reason: 'not today' })
    // Nothing resumes it: the store has no pool.
    expect(record?.status).toBe('waiting')

    const twice = runCli(['approve', 'run-3', 'call_1', '--store', url])
    expect(twice.code).toBe(1)
    expect(twice.stderr).toContain('Cannot decide request "call_1" of run run-3: it was already decided')

    const notWaiting = runCli(['approve', 'run-1', 'call_1', '--store', url])
    expect(notWaiting.code).toBe(1)
    expect(notWaiting.stderr).toContain('Nothing changed.')

    const badInput = runCli(['approve', 'run-3', 'call_1', '--store', url, '--input', '{to:'])
    expect(badInput.code).toBe(2)
    expect(badInput.stderr).toContain('must be JSON')
    const both = runCli(['approve', 'run-3', 'call_1', '--store', url, '--deny', '--input', '1'])
    expect(both.code).toBe(2)
  })

  it('watch <id>: the run until it ends; exit 0 complete, 1 error, 3 canceled', {
    timeout: 60_000,
  }, async () => {
    const complete = start(['watch', 'run-1', '--store', url])
    await complete.waitFor(/run-1 {2}running 40% \[progress\] {2}Searching the web/)
    await store.append('run-1', {
      status: 'running',
      message: 'Writing the report',
      percentage: 80,
      kind: 'progress',
    })
    await complete.waitFor(/running 80% \[progress\] {2}Writing the report/)
    await store.append('run-1', { status: 'complete', message: 'Done', percentage: 100, kind: 'lifecycle' })
    expect(await complete.exited).toBe(0)
    const lines = complete.stdout.trimEnd().split('\n')
    expect(lines.at(-2)).toMatch(/run-1 {2}complete 100% \[lifecycle\] {2}Done$/)
    expect(lines.at(-1)).toBe('run-1 complete')

    const failing = start(['watch', 'run-3', '--store', url])
    await failing.waitFor(/Waiting for approval/)
    await store.append('run-3', { status: 'error', message: 'Approval expired', kind: 'lifecycle' })
    expect(await failing.exited).toBe(1)
    expect(failing.stdout.trimEnd().split('\n').at(-1)).toBe('run-3 error')

    await store.create({ agentId: 'run-4', agentType: 'research', message: 'Queued' })
    const canceled = start(['watch', 'run-4', '--store', url])
    await canceled.waitFor(/run-4 {2}queued 0%/)
    expect(runCli(['cancel', 'run-4', '--store', url]).code).toBe(0)
    expect(await canceled.exited).toBe(3)
    expect(canceled.stdout.trimEnd().split('\n').at(-1)).toBe('run-4 canceled')

    // A run that has already ended: its last entry and status, at once.
    const ended = runCli(['watch', 'run-2', '--store', url])
    expect(ended.code).toBe(0)
    expect(ended.stdout.trimEnd().split('\n').at(-1)).toBe('run-2 complete')
  })

  it('watch: a line per change of the active runs (plain lines when not a terminal), until Ctrl-C', {
    timeout: 60_000,
  }, async () => {
    const child = start(['watch', '--store', url, '--metadata', 'tenant=acme'])
    await child.waitFor(/Ctrl-C stops/, 'stderr')
    expect(child.stdout).toMatch(/^run-1\s+40%\s+running\s+Searching the web$/m)
    expect(child.stdout).toMatch(/^run-3\s+0%\s+waiting\s+Waiting for approval$/m)
    expect(child.stdout).not.toContain('run-2')
    await store.append('run-1', { status: 'running', message: 'Reading', percentage: 60, kind: 'progress' })
    await child.waitFor(/^run-1\s+60%\s+running\s+Reading$/m)
    await store.append('run-1', { status: 'complete', message: 'Done', percentage: 100 })
    await child.waitFor(/^run-1\s+100%\s+complete\s+Done$/m)
    expect(child.stdout).not.toContain('\x1b[')
    expect(await child.stop('SIGINT')).toBe(0)
  })

  it('tail: every change as it happens, one line each or JSON lines, until Ctrl-C', {
    timeout: 60_000,
  }, async () => {
    const text = start(['tail', '--store', url])
    const json = start(['tail', '--store', url, '--json', '--metadata', 'tenant=globex'])
    await text.waitFor(/Ctrl-C stops/, 'stderr')
    await json.waitFor(/Ctrl-C stops/, 'stderr')
    await store.append('run-1', {
      status: 'running',
      message: 'Reading',
      percentage: 60,
      kind: 'progress',
      attempt: 1,
    })
    await store.create({
      agentId: 'run-5',
      agentType: 'support',
      message: 'Queued',
      metadata: { tenant: 'globex' },
    })
    await text.waitFor(/run-5 {2}queued 0% \[lifecycle\] {2}Queued/)
    expect(text.stdout).toMatch(
      /^\d\d:\d\d:\d\d {2}run-1 {2}running 60% \[progress\] {2}Reading \(attempt 1\)$/m,
    )
    await json.waitFor(/run-5/)
    const events = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { agentId: string; entry: { message: string } })
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      agentId: 'run-5',
      entry: { message: 'Queued' },
      activity: { status: 'queued' },
    })
    expect(await text.stop('SIGINT')).toBe(0)
    expect(await json.stop('SIGTERM')).toBe(0)
  })

  it('dashboard: prints an address that answers api/runs; with a token, the address logs in; stops on SIGINT', {
    timeout: 60_000,
  }, async () => {
    const open = start(['dashboard', '--store', url, '--port', '0'])
    const [address] = await open.waitFor(/^http:\/\/127\.0\.0\.1:\d+\/$/m)
    const page = (await (await fetch(`${address}api/runs`)).json()) as { items: { agentId: string }[] }
    expect(page.items.map((item) => item.agentId)).toEqual(['run-3', 'run-1', 'run-2'])
    expect(await open.stop('SIGINT')).toBe(0)
    expect(open.stderr).toContain('runner: dashboard stopped')

    const token = 'a-token-of-twenty-chars'
    const guarded = start(['dashboard', '--store', url, '--port', '0', '--metadata', 'tenant=acme'], {
      RUNNER_DASHBOARD_TOKEN: token,
    })
    const [link] = await guarded.waitFor(/^http:\/\/127\.0\.0\.1:\d+\/#token=\S+$/m)
    const base = link.slice(0, link.indexOf('#'))
    expect(decodeURIComponent(link.slice(link.indexOf('#token=') + '#token='.length))).toBe(token)
    expect((await fetch(`${base}api/runs`)).status).toBe(401)
    const response = await fetch(`${base}api/runs`, { headers: { authorization: `Bearer ${token}` } })
    const scoped = (await response.json()) as { items: { agentId: string }[] }
    expect(scoped.items.map((item) => item.agentId).sort()).toEqual(['run-1', 'run-3'])
    expect(await guarded.stop('SIGTERM')).toBe(0)
  })

  it('dashboard: refuses another address than loopback without a token, and a short token (exit 2)', {
    timeout: 30_000,
  }, () => {
    const open = runCli(['dashboard', '--store', url, '--port', '0', '--host', '0.0.0.0'])
    expect(open.code).toBe(2)
    expect(open.stderr).toContain('"0.0.0.0" is reachable from other machines: give a token')
    const short = runCli(['dashboard', '--store', url, '--port', '0', '--token', 'short'])
    expect(short.code).toBe(2)
    expect(short.stderr).toContain('token: must be a string of at least 16 characters')
  })
})
