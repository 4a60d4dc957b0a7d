/**
 * The store of the `runner` CLI: `--store` or `RUNNER_STORE_URL`, read through `loadConfig` and
 * opened with `openStore`, and the failures a person can act on, said in one line.
 */
import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import {
  type ActivityStore,
  ConfigError,
  DecisionError,
  InvalidOptionsError,
  loadConfig,
  openStore,
  RunnerError,
} from '@runner/core'

/** A mistake in the command line: exit code 2, with a pointer to `--help`. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CliUsageError'
  }
}

/** A failure the CLI explains in one line: exit code 1 (or `exitCode`), no stack trace. */
export class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode = 1) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** Variables of the CLI itself, which `loadConfig` does not know (it reports unknown `RUNNER_*` keys). */
const CLI_VARIABLES = ['RUNNER_DASHBOARD_TOKEN']

/** The store the CLI works on, and how to name it in messages (never with a password). */
export interface CliStore {
  store: ActivityStore
  /** `sqlite:./runs.db`, `postgres://db.example:5432/runner`. */
  label: string
}

/**
 * Opens the store `storeUrl` (the `--store` flag) or, without it, `RUNNER_STORE_URL` names. An
 * SQLite file must exist: the CLI reads the runs other processes write, so a missing file is a
 * wrong path, never a reason to create an empty database; only `create` (the `dashboard` command,
 * which serves the page before the first run is written) makes one, and says so.
 */
export async function openCliStore(
  storeUrl: string | undefined,
  env: NodeJS.ProcessEnv,
  options: { create?: boolean } = {},
): Promise<CliStore> {
  const configEnv: Record<string, string | undefined> = {}
  for (const [key, value] of Object.entries(env)) {
    if (!CLI_VARIABLES.includes(key.toUpperCase())) configEnv[key] = value
  }
  const fromFlag = storeUrl !== undefined
  if (fromFlag) configEnv.RUNNER_STORE_URL = storeUrl
  const source = fromFlag ? '--store' : 'RUNNER_STORE_URL'
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig(configEnv)
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error
    const store = error.issues.find((issue) => issue.key === 'RUNNER_STORE_URL')
    // memory: is valid for loadConfig, never for the CLI: not offered.
    if (store) throw new CliUsageError(`${source} ${store.message.replace('memory:, ', '')}`)
    throw error
  }
  const storeConfig = config.store
  switch (storeConfig.kind) {
    case 'memory':
      throw new CliUsageError(
        `${fromFlag ? '--store is memory:' : 'no store given'}: give the store your runs are written to with --store (or RUNNER_STORE_URL), such as --store sqlite:./runs.db or --store postgres://user@host:5432/db`,
      )
    case 'sqlite': {
      if (storeConfig.path === ':memory:') {
        throw new CliUsageError(
          `${source} names an in-memory SQLite database, which only its own process sees: give the file your runs are written to`,
        )
      }
      const path = resolve(storeConfig.path)
      if (!existsSync(path) && options.create) {
        process.stderr.write(`runner: no SQLite database at ${path} yet: creating an empty store there\n`)
      } else if (!existsSync(path)) {
        throw new CliError(
          `no SQLite database at ${path}: check the path (the runner CLI opens the file your runs are written to; it does not create one)`,
        )
      }
      if (existsSync(path) && statSync(path).isDirectory())
        throw new CliError(`${path} is a directory, not an SQLite database file`)
      break
    }
    case 'postgres':
      break
  }
  const store = await openStore(storeConfig, {
    sharedBy: 'the runner CLI',
    // @runner/postgres is this package's (optional peer) dependency: found from here.
    importPackage: (name) => import(name),
  })
  return {
    store,
    label: labelOf(storeConfig.kind === 'postgres' ? storeConfig.url : `sqlite:${storeConfig.path}`),
  }
}

/** A store URL without its password (and query). */
function labelOf(url: string): string {
  if (!/^postgres(?:ql)?:/i.test(url)) return url
  try {
    const parsed = new URL(url)
    parsed.password = ''
    parsed.username = ''
    parsed.search = ''
    return parsed.href
  } catch {
    return 'postgres://'
  }
}

/** Network failures of a connection, by their Node.js code. */
const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
}

/** The code of a connection failure anywhere in `error`'s causes (an AggregateError's errors too). */
function connectionCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 5) return undefined
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && code in CONNECTION_CODES) return code
  const inner = (error as { errors?: unknown }).errors
  for (const each of Array.isArray(inner) ? inner : []) {
    const found = connectionCode(each, depth + 1)
    if (found) return found
  }
  return connectionCode((error as { cause?: unknown }).cause, depth + 1)
}

/** The host and port a postgres:// URL connects to. */
function hostOf(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`
  } catch {
    return 'the server'
  }
}

/**
 * What the CLI prints for a failure, and its exit code: one line a person can act on. Errors of the
 * project (RunnerError and its kinds) carry such a message already; a connection refused is told
 * with the host and port it was refused by; anything else is a bug and keeps its stack.
 */
export function describeFailure(
  error: unknown,
  storeUrl: string | undefined,
): { message: string; exitCode: number } {
  if (error instanceof CliUsageError) return { message: error.message, exitCode: 2 }
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode }
  if (InvalidOptionsError.isInstance(error)) return { message: error.message, exitCode: 2 }
  if (ConfigError.isInstance(error) || DecisionError.isInstance(error)) {
    return { message: error.message, exitCode: 1 }
  }
  const code = connectionCode(error)
  if (code && storeUrl && /^postgres(?:ql)?:/i.test(storeUrl)) {
    return {
      message: `cannot connect to PostgreSQL at ${hostOf(storeUrl)} (${CONNECTION_CODES[code]}): check that the server is running and the URL is right`,
      exitCode: 1,
    }
  }
  // The project's errors say what happened and what to do.
  if (RunnerError.isInstance(error)) return { message: error.message, exitCode: 1 }
  return { message: error instanceof Error ? (error.stack ?? error.message) : String(error), exitCode: 1 }
}

/** The store URL the CLI uses, for messages: the flag, else the variable. */
export function storeUrlOf(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return flag ?? env.RUNNER_STORE_URL
}
