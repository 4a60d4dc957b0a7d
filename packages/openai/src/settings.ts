import type { ReportStatusMode } from '@runner/core'
import { InvalidOptionsError, type RunnerOptions } from '@runner/core'
import OpenAI, { type ClientOptions } from 'openai'
import type { OpenAIOutput } from './conversation.js'

export type { ReportStatusMode } from '@runner/core'

/**
 * Options of `new OpenAIRunner(...)`: the client (given, or built from `apiKey`, `baseURL`...),
 * `reportStatus`, `model`, and every option of `@runner/core`'s `RunnerOptions` (the runner's defaults for
 * each run: `activity`, `name`, `prompts`, `hooks`, `maxTurns`, `maxTurnsRecovery`,
 * `recoveryTurns`, `retry`, `timeoutMs`, `metadata`, `recordTrajectory`, `includeNative`).
 * The requests of a run go with the SDK's own retries off, whatever the client says: the run's
 * `retry` repeats them, each retry on the activity.
 */
export interface OpenAIRunnerSettings extends RunnerOptions<OpenAIOutput> {
  /**
   * The client to call (an `OpenAI` or `AzureOpenAI` of the `openai` package, v7). Give either
   * this or the options below, which build one. Default: `new OpenAI({ apiKey, baseURL, ... })`.
   */
  client?: OpenAI
  /** API key. Default: `OPENAI_API_KEY`. Local servers that need none take any non-empty string (`'ollama'`). */
  apiKey?: ClientOptions['apiKey']
  /** Server URL, `/v1` included (`http://localhost:11434/v1` for Ollama). Default: `OPENAI_BASE_URL`, else OpenAI. */
  baseURL?: ClientOptions['baseURL']
  /** OpenAI organization id. Default: `OPENAI_ORG_ID`. */
  organization?: ClientOptions['organization']
  /** OpenAI project id. Default: `OPENAI_PROJECT_ID`. */
  project?: ClientOptions['project']
  /** Limit of one HTTP request, in ms (the SDK's; the run's own limit is `timeoutMs`). Default: 10 minutes. */
  timeout?: ClientOptions['timeout']
  /**
   * The client's own HTTP retries, for calls you make on `runner.client` yourself. Runs ignore it:
   * their requests go with `maxRetries: 0`, and the run's `retry` repeats them where the activity
   * shows it. Default: the SDK's (2).
   */
  maxRetries?: ClientOptions['maxRetries']
  /** Headers sent with every request (a gateway's routing or auth headers). */
  defaultHeaders?: ClientOptions['defaultHeaders']
  /** Query parameters sent with every request (`api-version` on some gateways). */
  defaultQuery?: ClientOptions['defaultQuery']
  /** The `fetch` to use: a proxy-aware one, or `recordingFetch`/`replayingFetch` from `@runner/testkit`. */
  fetch?: ClientOptions['fetch']
  /** `RequestInit` fields added to every request (a dispatcher, for instance). */
  fetchOptions?: ClientOptions['fetchOptions']
  /** The SDK's log level (`'off'`, `'error'`, `'warn'`, `'info'`, `'debug'`). Default: `'warn'` or `OPENAI_LOG`. */
  logLevel?: ClientOptions['logLevel']
  /** The SDK's logger. Default: `console`. */
  logger?: ClientOptions['logger']
  /** See `ReportStatusMode`. Default: `true` (tool and prompt). */
  reportStatus?: ReportStatusMode
  /**
   * The model of every agent this runner runs, over the agent's own `model`. Lets one agent
   * definition (with another provider's model) run here too, in a `withFallback` chain for
   * instance. Default: the agent's `model`.
   */
  model?: string
}

const clientOptionNames = [
  'apiKey',
  'baseURL',
  'organization',
  'project',
  'timeout',
  'maxRetries',
  'defaultHeaders',
  'defaultQuery',
  'fetch',
  'fetchOptions',
  'logLevel',
  'logger',
] as const satisfies ReadonlyArray<keyof OpenAIRunnerSettings & keyof ClientOptions>

/** The settings taken apart: the client, what `@runner/core` validates, and this runner's own. */
export interface SplitSettings {
  client: OpenAI
  runnerOptions: RunnerOptions<OpenAIOutput>
  reportStatus: ReportStatusMode
  model: string | undefined
}

/**
 * Takes the client apart from the core options (which `BaseAgentRunner` validates; an unknown
 * option is refused there), and builds the client when none is given.
 */
export function splitSettings(settings: OpenAIRunnerSettings): SplitSettings {
  const { client, reportStatus = true, model, ...rest } = settings
  const clientOptions: ClientOptions = {}
  const runnerOptions: Record<string, unknown> = { ...rest }
  for (const name of clientOptionNames) {
    if (name in runnerOptions) {
      const value = runnerOptions[name]
      delete runnerOptions[name]
      if (value !== undefined) (clientOptions as Record<string, unknown>)[name] = value
    }
  }
  if (reportStatus !== true && reportStatus !== false && reportStatus !== 'tool-only') {
    throw new InvalidOptionsError(
      [{ field: 'reportStatus', message: "must be true, false or 'tool-only'" }],
      { subject: 'runner options' },
    )
  }
  if (model !== undefined && (typeof model !== 'string' || model.trim() === '')) {
    throw new InvalidOptionsError([{ field: 'model', message: 'must be a model name' }], {
      subject: 'runner options',
    })
  }
  return {
    client: resolveClient(client, clientOptions),
    runnerOptions: runnerOptions as RunnerOptions<OpenAIOutput>,
    reportStatus,
    model,
  }
}

function resolveClient(client: OpenAI | undefined, options: ClientOptions): OpenAI {
  const given = Object.keys(options)
  if (client !== undefined) {
    if (!isClient(client)) {
      throw new InvalidOptionsError(
        [{ field: 'client', message: 'must be a client of the openai package (new OpenAI(...))' }],
        { subject: 'runner options' },
      )
    }
    if (given.length > 0) {
      throw new InvalidOptionsError(
        [
          {
            field: given[0]!,
            message: `cannot be combined with client: give either a client or the options to build one (${given.join(', ')})`,
          },
        ],
        { subject: 'runner options' },
      )
    }
    return client
  }
  try {
    return new OpenAI(options)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new InvalidOptionsError(
      [
        {
          field: /api.?key/i.test(message) ? 'apiKey' : 'client',
          message: /api.?key/i.test(message)
            ? 'missing: pass apiKey (any non-empty string for a local server that needs none), pass a client, or set OPENAI_API_KEY'
            : `the OpenAI client could not be created: ${message}`,
        },
      ],
      { subject: 'runner options', cause: error },
    )
  }
}

function isClient(value: unknown): value is OpenAI {
  if (value instanceof OpenAI) return true
  // Another copy of the openai package: check the two resources the runner calls.
  const candidate = value as {
    chat?: { completions?: { create?: unknown } }
    responses?: { create?: unknown }
  }
  return (
    typeof candidate?.chat?.completions?.create === 'function' &&
    typeof candidate.responses?.create === 'function'
  )
}
