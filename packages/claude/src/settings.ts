import Anthropic, { type ClientOptions } from '@anthropic-ai/sdk'
import type { ReportStatusMode } from '@runner/core'
import { InvalidOptionsError, type RunnerOptions } from '@runner/core'
import type { InvalidOptionIssue } from '@runner/core/adapter'
import { modelSettingsIssues } from './model-settings.js'
import type { ClaudeModelSettings, ClaudeOutput } from './types.js'

/** What `ClaudeRunner` adds to the runner options of core. */
export interface ClaudeRunnerOwnSettings {
  /**
   * The model for every run of this runner, in place of `agent.model`. Set it when an agent
   * definition is shared with another runner (its `model` names the other provider's model).
   * Default: each agent's `model`.
   */
  model?: string
  /**
   * Model settings for every agent of this runner; an agent's own `modelSettings` win key by key.
   * A place for Claude's settings (thinking, effort...) when agent definitions are shared with
   * another runner. Default: none.
   */
  modelSettings?: ClaudeModelSettings
  /** What the runner does about `report_status`; see `ReportStatusMode`. Default `true`. */
  reportStatus?: ReportStatusMode
}

export type { ReportStatusMode } from '@runner/core'

/**
 * The Anthropic client: one you built (`{ client }`: middleware, a custom `fetch`, your own
 * timeout), or the options of a new one (`{ apiKey, baseURL, timeout, ... }`; `apiKey` defaults to
 * `ANTHROPIC_API_KEY`). The client's `maxRetries` only applies to requests you make with it
 * yourself: a run's requests go with `maxRetries: 0`, and the run retries them (`retry`).
 */
export type ClaudeClientSettings =
  | ({
      /** The client every request goes through. */
      client: Anthropic
    } & { [Key in keyof ClientOptions]?: never })
  | ({ client?: undefined } & ClientOptions)

/**
 * Options of `new ClaudeRunner(...)`: the client (or its options), this runner's own settings and
 * every runner option of core (`activity`, `name`, `prompts`, `hooks`, `maxTurns`, `retry`,
 * `timeoutMs`, ...), which are the defaults of every run.
 */
export type ClaudeRunnerSettings = RunnerOptions<ClaudeOutput> &
  ClaudeRunnerOwnSettings &
  ClaudeClientSettings

/** The settings sorted out: what goes to the base class, the client, and this runner's own. */
export interface SplitSettings {
  runnerOptions: RunnerOptions<ClaudeOutput>
  client: Anthropic
  own: ClaudeRunnerOwnSettings
}

/**
 * The options of the SDK's `ClientOptions` (1.x) that build a client. Any other key goes to core,
 * which refuses a key it does not know (`maxTurn: is not an option`): a typo never vanishes into
 * the client. For an option of a newer SDK, pass a `client`.
 */
const clientOptionKeys = new Set([
  'apiKey',
  'authToken',
  'credentials',
  'config',
  'profile',
  'webhookKey',
  'baseURL',
  'timeout',
  'fetchOptions',
  'fetch',
  'middleware',
  'maxRetries',
  'defaultHeaders',
  'defaultQuery',
  'dangerouslyAllowBrowser',
  'openTelemetry',
  'logLevel',
  'logger',
])

const ownKeys = new Set(['client', 'model', 'modelSettings', 'reportStatus'])

/**
 * Splits the constructor's settings into core's runner options (validated by the base class), the
 * client (made here from the client options when none is given) and this runner's own settings.
 * Throws `InvalidOptionsError` naming every wrong field.
 */
export function splitSettings(settings: ClaudeRunnerSettings = {}): SplitSettings {
  if (typeof settings !== 'object' || settings === null) {
    throw new InvalidOptionsError([{ field: '(root)', message: 'must be an object' }], {
      subject: 'ClaudeRunner settings',
    })
  }
  const runnerOptions: Record<string, unknown> = {}
  const clientOptions: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(settings)) {
    if (clientOptionKeys.has(key)) clientOptions[key] = value
    else if (!ownKeys.has(key)) runnerOptions[key] = value
  }
  const { client, model, modelSettings, reportStatus } = settings as ClaudeRunnerOwnSettings & {
    client?: unknown
  }

  const issues: InvalidOptionIssue[] = []
  if (client !== undefined) {
    if (!isAnthropicClient(client)) {
      issues.push({
        field: 'client',
        message: 'must be an Anthropic client (`new Anthropic(...)` from @anthropic-ai/sdk)',
      })
    }
    for (const key of Object.keys(clientOptions)) {
      if (clientOptions[key] === undefined) continue
      issues.push({
        field: key,
        message: 'cannot be combined with `client`: configure the client you pass instead',
      })
    }
  }
  if (model !== undefined && (typeof model !== 'string' || model.trim() === '')) {
    issues.push({ field: 'model', message: 'must be a non-empty string (a Claude model id)' })
  }
  if (
    reportStatus !== undefined &&
    reportStatus !== true &&
    reportStatus !== false &&
    reportStatus !== 'tool-only'
  ) {
    issues.push({ field: 'reportStatus', message: "must be true, false or 'tool-only'" })
  }
  if (modelSettings !== undefined) issues.push(...modelSettingsIssues(modelSettings, 'modelSettings'))
  if (issues.length > 0) throw new InvalidOptionsError(issues, { subject: 'ClaudeRunner settings' })

  const own: ClaudeRunnerOwnSettings = {}
  if (model !== undefined) own.model = model
  if (modelSettings !== undefined) own.modelSettings = modelSettings
  if (reportStatus !== undefined) own.reportStatus = reportStatus
  return {
    runnerOptions: runnerOptions as RunnerOptions<ClaudeOutput>,
    client: (client as Anthropic | undefined) ?? new Anthropic(clientOptions as ClientOptions),
    own,
  }
}

/** Duck-typed, so that a client from another copy of the SDK is accepted too. */
function isAnthropicClient(value: unknown): value is Anthropic {
  if (typeof value !== 'object' || value === null) return false
  const messages = (value as { messages?: unknown }).messages
  return (
    typeof messages === 'object' &&
    messages !== null &&
    typeof (messages as { create?: unknown }).create === 'function' &&
    typeof (messages as { stream?: unknown }).stream === 'function'
  )
}
