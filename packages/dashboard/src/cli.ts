#!/usr/bin/env node
/**
 * `runner`: the dashboard and the runs of an activity store from a terminal. See the package
 * README ("CLI") for every command, its output and its exit codes.
 */
import { createRequire } from 'node:module'
import type {
  ActivityEvent,
  ActivityStatus,
  ActivityStore,
  ActivitySummary,
  DecisionInput,
  MetadataFilter,
} from '@runner/core'
import { ACTIVITY_STATUSES, isTerminalStatus, type JsonValue } from '@runner/core/store'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { MAX_SCANNED_ROWS } from './app.js'
import { cancelRun } from './cancel.js'
import { changeLine, progressLine, runsTable, showText, summarizeTrajectory, truncate } from './cli-format.js'
import { CliError, CliUsageError, describeFailure, openCliStore, storeUrlOf } from './cli-store.js'
import { DEFAULT_PORT, serveDashboard } from './serve.js'

const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version

/** Exit codes of `runner watch <id>` by how the run ended. */
const WATCH_EXIT_CODES = { complete: 0, error: 1, canceled: 3 } as const
/** Exit code of a command stopped with Ctrl-C while it waited for a run to end (128 + SIGINT). */
const INTERRUPTED = 130

const ACTIVE: ActivityStatus[] = ['queued', 'running', 'waiting']

/** Options every command takes. */
interface StoreOptions {
  store?: string
  metadata?: MetadataFilter
}

const out = (text: string) => process.stdout.write(`${text}\n`)
const info = (text: string) => process.stderr.write(`${text}\n`)

// ---------------------------------------------------------------- option parsers

function integerParser(name: string, min: number, max: number) {
  return (text: string) => {
    const value = Number(text)
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}.`)
    }
    return value
  }
}

function metadataParser(text: string, previous: MetadataFilter | undefined): MetadataFilter {
  const at = text.indexOf('=')
  if (at <= 0) throw new InvalidArgumentError('must be key=value, such as --metadata tenant=acme.')
  return { ...previous, [text.slice(0, at)]: text.slice(at + 1) }
}

function statusParser(text: string): ActivityStatus[] {
  const statuses = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
  for (const status of statuses) {
    if (!(ACTIVITY_STATUSES as readonly string[]).includes(status)) {
      throw new InvalidArgumentError(`"${status}" is not one of ${ACTIVITY_STATUSES.join(', ')}.`)
    }
  }
  if (statuses.length === 0)
    throw new InvalidArgumentError(`give one or more of ${ACTIVITY_STATUSES.join(', ')}.`)
  return statuses as ActivityStatus[]
}

function jsonParser(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue
  } catch {
    throw new InvalidArgumentError(`must be JSON, such as '{"to":"ada@example.com"}'.`)
  }
}

/** `--store` and `--metadata`, on every command (each command's `--help` lists them). */
function withStoreOptions(command: Command): Command {
  return command
    .option(
      '--store <url>',
      'the activity store: sqlite:<path> or postgres://... (default: RUNNER_STORE_URL)',
    )
    .option(
      '--metadata <key=value>',
      'only runs whose metadata has key=value (repeat for several keys; values compare as strings)',
      metadataParser,
    )
}

// ---------------------------------------------------------------- store access

let storeUrlForErrors: string | undefined

/** Opens the store of `options`, runs `work` with it, closes it however `work` ends. */
async function withStore<T>(
  options: StoreOptions,
  work: (store: ActivityStore, label: string) => Promise<T>,
  open: { create?: boolean } = {},
): Promise<T> {
  storeUrlForErrors = storeUrlOf(options.store, process.env)
  const { store, label } = await openCliStore(options.store, process.env, open)
  try {
    return await work(store, label)
  } finally {
    await store.close().catch(() => {})
  }
}

const scopeOf = (options: StoreOptions) => (options.metadata ? { metadata: options.metadata } : {})

/** The run `id` within `--metadata`; "no run <id>" (exit 1) otherwise. */
async function runOf(store: ActivityStore, id: string, options: StoreOptions) {
  const activity = await store.get(id, scopeOf(options))
  if (!activity) throw new CliError(`no run ${id}`)
  return activity
}

/** Aborts on the first Ctrl-C or SIGTERM; `signal.reason` says which. */
function stopSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController()
  const onSignal = (name: NodeJS.Signals) => controller.abort(name)
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  // Keeps the process alive while it waits for changes: a store's watch need not hold the event
  // loop (SQLite's reading of other processes' writes does not), and nothing else does.
  const alive = setInterval(() => {}, 2 ** 31 - 1)
  return {
    signal: controller.signal,
    dispose: () => {
      clearInterval(alive)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}

/**
 * Iterates the store's watch until `onChange` returns true, ending quietly when `signal` aborts;
 * a watch that ends by itself is a failure (the store was closed).
 */
async function forEachChange(
  changes: AsyncIterable<ActivityEvent>,
  signal: AbortSignal,
  onChange: (event: ActivityEvent) => Promise<boolean | undefined> | boolean | undefined,
): Promise<void> {
  try {
    for await (const event of changes) {
      if ((await onChange(event)) === true) return
    }
  } catch (error) {
    if (!signal.aborted) throw error
    return
  }
  if (!signal.aborted) throw new CliError('the store stopped sending changes (it was closed)')
}

// ---------------------------------------------------------------- commands

async function dashboardCommand(options: StoreOptions & { port: number; host: string; token?: string }) {
  await withStore(
    options,
    async (store, label) => {
      const { metadata } = options
      // A first read: a store that cannot be reached says so now, not on the page's first request.
      await store.countActive(scopeOf(options))
      let served: Awaited<ReturnType<typeof serveDashboard>>
      try {
        served = await serveDashboard({
          activity: store,
          port: options.port,
          hostname: options.host,
          ...(options.token !== undefined ? { token: options.token } : {}),
          ...(metadata ? { tenant: () => metadata } : {}),
        })
      } catch (error) {
        const code = (error as { code?: unknown }).code
        if (code === 'EADDRINUSE') {
          throw new CliError(
            `port ${options.port} of ${options.host} is in use: choose another with --port (0 picks a free one)`,
          )
        }
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
          throw new CliError(`cannot listen on ${options.host}: it is not an address of this machine`)
        }
        throw error
      }
      const stop = stopSignal()
      const link =
        options.token !== undefined ? `${served.url}#token=${encodeURIComponent(options.token)}` : served.url
      out(link)
      info(
        `runner: the dashboard of ${label} is served at the address above; Ctrl-C stops it. Without a pool, cancel marks a run canceled in the store and approvals are made with runner approve.`,
      )
      await new Promise<void>((resolve) =>
        stop.signal.addEventListener('abort', () => resolve(), { once: true }),
      )
      stop.dispose()
      await served.close()
      info('runner: dashboard stopped')
    },
    { create: true },
  )
}

async function lsCommand(
  options: StoreOptions & { status?: ActivityStatus[]; agentType?: string; limit: number; json?: boolean },
) {
  await withStore(options, async (store) => {
    const base = {
      ...(options.status ? { status: options.status } : {}),
      ...(options.metadata ? { metadata: options.metadata } : {}),
    }
    let items: ActivitySummary[]
    let total: number | undefined
    let more = false
    if (options.agentType === undefined) {
      const page = await store.list({ ...base, limit: options.limit })
      items = page.items
      total = page.total
      more = page.nextCursor !== undefined
    } else {
      // The stores filter by status and metadata only: read pages and keep the matches.
      items = []
      let cursor: string | undefined
      let scanned = 0
      do {
        const page = await store.list({
          ...base,
          limit: Math.min(1000, MAX_SCANNED_ROWS - scanned),
          ...(cursor ? { cursor } : {}),
        })
        scanned += page.items.length
        cursor = page.nextCursor
        items.push(...page.items.filter((item) => item.agentType === options.agentType))
      } while (cursor && items.length < options.limit && scanned < MAX_SCANNED_ROWS)
      more = items.length > options.limit || cursor !== undefined
      items = items.slice(0, options.limit)
    }
    if (options.json) {
      out(JSON.stringify({ items, ...(total !== undefined ? { total } : {}) }, null, 2))
      return
    }
    if (items.length === 0) {
      out('No runs.')
      return
    }
    out(runsTable(items, Date.now(), process.stdout.isTTY ? terminalColumns() : undefined))
    if (total !== undefined && total > items.length)
      out(`${items.length} of ${total} runs; --limit shows more`)
    else if (total === undefined && more) out(`the first ${items.length} matches; --limit shows more`)
  })
}

async function showCommand(id: string, options: StoreOptions & { json?: boolean }) {
  await withStore(options, async (store) => {
    const activity = await runOf(store, id, options)
    const [trajectory, record] = await Promise.all([
      store.getTrajectory(id, scopeOf(options)),
      store.getRun(id, scopeOf(options)),
    ])
    const summary = trajectory ? summarizeTrajectory(trajectory) : undefined
    const pending = record?.pending ?? []
    if (options.json) {
      out(JSON.stringify({ activity, trajectory: summary ?? null, pending }, null, 2))
      return
    }
    out(showText(activity, summary, pending, Date.now()))
  })
}

async function watchCommand(id: string | undefined, options: StoreOptions) {
  await withStore(options, async (store, label) => {
    const stop = stopSignal()
    try {
      if (id === undefined) await watchAll(store, label, options, stop.signal)
      else await watchOne(store, id, options, stop.signal)
    } finally {
      stop.dispose()
    }
  })
}

/** The terminal's width (80 when it does not say). */
const terminalColumns = () => Math.max(20, process.stdout.columns || 80)

/** Clears the current terminal line. */
const CLEAR_LINE = '\r\x1b[2K'

/** One run until it ends: its log as it grows, a live bar on a terminal; the exit code says how it ended. */
async function watchOne(store: ActivityStore, id: string, options: StoreOptions, signal: AbortSignal) {
  const tty = process.stdout.isTTY === true
  const width = () => terminalColumns() - 1
  const watch = new AbortController()
  signal.addEventListener('abort', () => watch.abort(), { once: true })
  // Watch first, then read: a change made in between is not missed.
  const changes = store.watch({ agentId: id, ...scopeOf(options) }, watch.signal)
  try {
    let current = await runOf(store, id, options)
    // The log is read again on each change: entries are printed once each, in order, whatever the
    // store's events carry.
    let printed = Math.max(0, current.log.length - 1)
    let barShown = false
    const render = () => {
      let text = ''
      if (barShown) text += CLEAR_LINE
      for (; printed < current.log.length; printed++) {
        const entry = current.log[printed]
        if (entry) text += `${changeLine({ agentId: id, activity: current, entry })}\n`
      }
      if (tty && !isTerminalStatus(current.status)) {
        text += truncate(progressLine(current, id.length, true), width())
        barShown = true
      } else barShown = false
      process.stdout.write(text)
    }
    render()
    if (!isTerminalStatus(current.status)) {
      await forEachChange(changes, signal, async () => {
        const next = await store.get(id, scopeOf(options))
        if (!next) throw new CliError(`no run ${id} (it was deleted while watched)`)
        current = next
        render()
        return isTerminalStatus(current.status)
      })
    }
    if (barShown) process.stdout.write(`${CLEAR_LINE}`)
    if (!isTerminalStatus(current.status)) {
      if (signal.aborted) {
        info(`runner: stopped watching ${id} (${current.status}); the run goes on`)
        process.exitCode = INTERRUPTED
      }
      return
    }
    out(`${id} ${current.status}`)
    process.exitCode = WATCH_EXIT_CODES[current.status as keyof typeof WATCH_EXIT_CODES]
  } finally {
    watch.abort()
  }
}

/** Every active run, one line each (updated in place on a terminal), until Ctrl-C. */
async function watchAll(store: ActivityStore, label: string, options: StoreOptions, signal: AbortSignal) {
  const tty = process.stdout.isTTY === true
  const changes = store.watch(scopeOf(options), signal)
  const active = new Map<string, ActivitySummary>()
  const first = await store.list({ status: ACTIVE, limit: 200, ...scopeOf(options) })
  for (const item of first.items) active.set(item.agentId, item)
  let drawn = 0
  const redraw = (above: string[]) => {
    const columns = terminalColumns() - 1
    const rows = Math.max(3, (process.stdout.rows || 24) - 2)
    const runs = [...active.values()]
    const idWidth = Math.min(40, Math.max(2, ...runs.map((run) => run.agentId.length)))
    const lines = runs.slice(0, rows).map((run) => truncate(progressLine(run, idWidth, true), columns))
    if (runs.length > rows) lines.push(`… and ${runs.length - rows} more`)
    if (runs.length === 0) lines.push('No active runs.')
    let text = drawn > 0 ? `\x1b[${drawn}F\x1b[0J` : ''
    for (const line of above) text += `${truncate(line, columns)}\n`
    for (const line of lines) text += `${line}\n`
    drawn = lines.length
    process.stdout.write(text)
  }
  const plain = (run: ActivitySummary) => out(progressLine(run, 0, false))
  const ready = () =>
    info(
      `runner: watching the runs of ${label}${first.total > first.items.length ? ` (the first ${first.items.length} of ${first.total} active runs, then every change)` : ''}; Ctrl-C stops`,
    )
  // On a terminal the note goes first: the block below it is redrawn in place.
  if (tty) {
    ready()
    redraw([])
  } else {
    for (const run of active.values()) plain(run)
    ready()
  }
  await forEachChange(changes, signal, (event) => {
    const run = event.activity
    const ended = isTerminalStatus(run.status)
    if (ended) active.delete(run.agentId)
    else active.set(run.agentId, run)
    if (tty) redraw(ended ? [progressLine(run, 0, false)] : [])
    else plain(run)
    return undefined
  })
}

async function tailCommand(options: StoreOptions & { json?: boolean }) {
  await withStore(options, async (store, label) => {
    const stop = stopSignal()
    try {
      const changes = store.watch(scopeOf(options), stop.signal)
      // A first read: a store that cannot be reached says so now, not at the first change.
      await store.countActive(scopeOf(options))
      info(`runner: every change of ${label} as it happens; Ctrl-C stops`)
      await forEachChange(changes, stop.signal, (event) => {
        out(options.json ? JSON.stringify(event) : changeLine(event))
        return undefined
      })
    } finally {
      stop.dispose()
    }
  })
}

async function cancelCommand(id: string, options: StoreOptions & { json?: boolean }) {
  await withStore(options, async (store) => {
    const activity = await runOf(store, id, options)
    const outcome = await cancelRun(store, activity, { message: 'Canceled with the runner CLI' })
    const status = outcome.status ?? (await store.get(id))?.status ?? activity.status
    if (options.json) out(JSON.stringify({ agentId: id, canceled: outcome.canceled, status }))
    if (outcome.canceled) {
      if (!options.json) {
        out(
          `Canceled ${id} (it was ${activity.status}). The process running it stops at its next write to the store.`,
        )
      }
      return
    }
    if (status === 'canceled') {
      if (!options.json) out(`${id} was already canceled.`)
      return
    }
    throw new CliError(`${id} has already ended (${status}): nothing to cancel`)
  })
}

async function approveCommand(
  id: string,
  toolCallId: string,
  options: StoreOptions & { deny?: boolean; reason?: string; input?: JsonValue; by?: string; json?: boolean },
) {
  if (options.deny && options.input !== undefined) {
    throw new CliUsageError('--input is the input an approved call runs with: drop it with --deny')
  }
  await withStore(options, async (store) => {
    await runOf(store, id, options)
    const common = {
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      ...(options.by !== undefined ? { by: options.by } : {}),
    }
    const decision: DecisionInput = options.deny
      ? { type: 'deny', ...common }
      : { type: 'approve', ...common, ...(options.input !== undefined ? { input: options.input } : {}) }
    const record = await store.decide(id, toolCallId, decision)
    const undecided = (record.pending ?? [])
      .filter((request) => !request.decision)
      .map((request) => request.id)
    if (options.json) {
      out(
        JSON.stringify({
          agentId: id,
          toolCallId,
          decision: decision.type,
          status: record.status,
          undecided,
        }),
      )
      return
    }
    const verb = options.deny ? 'Denied' : 'Approved'
    out(`${verb} ${toolCallId} of ${id}: the decision is recorded in the store.`)
    if (undecided.length > 0) {
      out(
        `${id} still waits for ${undecided.length} more decision${undecided.length === 1 ? '' : 's'} (${undecided.join(', ')}); it stays waiting until every request is decided.`,
      )
    }
    out(
      `The run stays waiting until its pool resumes it: the runner CLI has no pool, so nothing runs it from here. A process with the pool continues it with pool.resume('${id}') once every request is decided (runner.resume(agent, '${id}') for a run outside a pool); it goes on from its checkpoint${options.deny ? ', and the model reads the denial' : ', running the approved call'}.`,
    )
    if (record.expiresAt && Date.parse(record.expiresAt) < Date.now()) {
      out(
        `Its wait expired at ${record.expiresAt}: when it is resumed it ends with an error ("Approval expired").`,
      )
    }
  })
}

// ---------------------------------------------------------------- the program

function buildProgram(): Command {
  const program = new Command('runner')
    .description('The dashboard and the runs of an @runner activity store, from a terminal.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show the help')
    .showHelpAfterError('(runner --help lists the commands; runner <command> --help its options)')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(text.replace(/^error: /, 'runner: ')),
    })

  withStoreOptions(
    program
      .command('dashboard')
      .description('serve the dashboard over the store and print its address; Ctrl-C stops it')
      .option('--port <port>', 'TCP port, 0 for a free one', integerParser('--port', 0, 65_535), DEFAULT_PORT)
      .option(
        '--host <address>',
        'address to listen on; another than 127.0.0.1, ::1 or localhost needs a token',
        '127.0.0.1',
      )
      .addOption(
        new Option(
          '--token <token>',
          'the token the page and API ask for (16 characters at least); printed in the address as #token=',
        ).env('RUNNER_DASHBOARD_TOKEN'),
      ),
  ).action((options) => dashboardCommand(options))

  withStoreOptions(
    program
      .command('ls')
      .description('list runs: unfinished ones first, then newest first')
      .option(
        '--status <statuses>',
        `only these statuses, comma-separated (${ACTIVITY_STATUSES.join(', ')})`,
        statusParser,
      )
      .option('--agent-type <type>', 'only runs of this agent type')
      .option('--limit <n>', 'show at most n runs', integerParser('--limit', 1, 1000), 20)
      .option('--json', 'print { items, total } as JSON'),
  ).action((options) => lsCommand(options))

  withStoreOptions(
    program
      .command('show')
      .description('a run: its state, its log, its trajectory (turns, tokens, steps) and pending requests')
      .argument('<id>', 'the run id')
      .option('--json', 'print { activity, trajectory, pending } as JSON'),
  ).action((id, options) => showCommand(id, options))

  withStoreOptions(
    program
      .command('watch')
      .description(
        'live progress of the active runs until Ctrl-C; with an id, that run until it ends (exit 0 complete, 1 error, 3 canceled, 130 on Ctrl-C)',
      )
      .argument('[id]', 'the run to follow until it ends'),
  ).action((id, options) => watchCommand(id, options))

  withStoreOptions(
    program
      .command('tail')
      .description('every change as it happens, one line each, until Ctrl-C')
      .option('--json', 'one JSON object per change: { agentId, activity, entry }'),
  ).action((options) => tailCommand(options))

  withStoreOptions(
    program
      .command('cancel')
      .description(
        'mark a queued, running or waiting run canceled; the process running it stops at its next write',
      )
      .argument('<id>', 'the run id')
      .option('--json', 'print { agentId, canceled, status } as JSON'),
  ).action((id, options) => cancelCommand(id, options))

  withStoreOptions(
    program
      .command('approve')
      .description(
        'record a decision on a tool call a waiting run asks approval for; its pool resumes the run',
      )
      .argument('<id>', 'the run id')
      .argument('<toolCallId>', 'the pending tool call (runner show <id> lists them)')
      .option('--deny', 'deny the call instead: the model reads the denial')
      .option('--reason <text>', 'why (the model reads it with a denial)')
      .option('--input <json>', "run the tool with this input instead of the model's", jsonParser)
      .option('--by <name>', 'who decides, kept with the decision')
      .option('--json', 'print { agentId, toolCallId, decision, status, undecided } as JSON'),
  ).action((id, toolCallId, options) => approveCommand(id, toolCallId, options))

  return program
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv)
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every mistake in the command line exits 2 (commander printed it).
      process.exitCode = error.exitCode === 0 ? 0 : 2
      return
    }
    const { message, exitCode } = describeFailure(error, storeUrlForErrors)
    info(`runner: ${message}`)
    if (exitCode === 2) info('(runner <command> --help lists the options)')
    process.exitCode = exitCode
  }
}

await main(process.argv)
