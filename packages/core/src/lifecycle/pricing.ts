import type { Usage } from '../activity/types.js'
import type { ModelPrice } from '../runner/types.js'
import { errorMessage } from '../util/error-message.js'

/**
 * Prices model calls: the runner's `prices` first, then the model catalog of
 * `@pydantic/genai-prices` (static data shipped in the package: no network). The catalog is
 * imported on the first call that names a model, so that a process that never prices pays nothing
 * for it at startup; a model's price is looked up once and kept (ten minutes, for the catalog's
 * time-dependent prices). A model neither priced nor in the catalog has no cost (never a guess)
 * and is warned about once per process.
 */

type Catalog = typeof import('@pydantic/genai-prices')

/** The warning code of a model that has no price. */
export const UNKNOWN_MODEL_PRICE_WARNING = 'RUNNER_UNKNOWN_MODEL_PRICE'

/** The catalog's provider ids of the OpenTelemetry GenAI provider names that differ from them. */
const catalogProviders: Readonly<Record<string, string>> = {
  'azure.ai.openai': 'azure',
  'aws.bedrock': 'aws',
  'gcp.gemini': 'google',
  'gcp.vertex_ai': 'google',
  mistral_ai: 'mistral',
  x_ai: 'x-ai',
}

/** How long a price looked up in the catalog is kept (some change by date or time of day). */
const keepMs = 10 * 60_000

/** A catalog price: flat per token (computed here) or tiered (priced by the catalog per call). */
type Found =
  | { kind: 'flat'; price: ModelPrice; perRequestUsd: number; until: number }
  | { kind: 'tiered'; providerId: string; model: string; until: number }
  | { kind: 'unknown' }

let catalog: Catalog | undefined
let loading: Promise<Catalog | undefined> | undefined
const found = new Map<string, Found>()
const warned = new Set<string>()

function loadCatalog(): Promise<Catalog | undefined> {
  loading ??= import('@pydantic/genai-prices').then(
    (module) => {
      catalog = module
      return module
    },
    (error: unknown) => {
      warnOnce(
        '\u0000catalog',
        `The model catalog (@pydantic/genai-prices) could not be loaded, so model calls have no costUsd: ${errorMessage(error)}`,
      )
      return undefined
    },
  )
  return loading
}

function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return
  warned.add(key)
  process.emitWarning(message, { code: UNKNOWN_MODEL_PRICE_WARNING })
}

const nanos = (usd: number): number => Math.round(usd * 1e9) / 1e9

/**
 * What `usage` costs at `price`: input tokens neither read from nor written to a cache at the
 * input price, cache reads and writes at theirs (the input price when not given), output tokens
 * (reasoning included) at the output price. In US dollars, to a billionth.
 */
export function costOf(usage: Usage, price: ModelPrice, perRequestUsd = 0): number {
  const cacheRead = usage.cachedInputTokens ?? 0
  const cacheWrite = usage.cacheWriteInputTokens ?? 0
  const uncached = Math.max(0, usage.inputTokens - cacheRead - cacheWrite)
  const micro =
    uncached * price.inputPerMTokUsd +
    cacheRead * (price.cacheReadPerMTokUsd ?? price.inputPerMTokUsd) +
    cacheWrite * (price.cacheWritePerMTokUsd ?? price.inputPerMTokUsd) +
    usage.outputTokens * price.outputPerMTokUsd
  return nanos(micro / 1e6 + perRequestUsd)
}

/**
 * Starts importing the catalog for a call of `model` that is starting (unless the runner's
 * `prices` price it), so that the import overlaps the call instead of delaying its end (the first
 * priced call of the process only).
 */
export function prepareCatalog(
  model: string | undefined,
  provider: string | undefined,
  prices: Readonly<Record<string, ModelPrice>> | undefined,
): void {
  if (!model || catalog || loading) return
  if (prices && ownPrice(prices, model, provider)) return
  void loadCatalog()
}

/**
 * The runner's own price of a model: `provider/model`, then `model`, then the longest key ending
 * in `*` that the model (or `provider/model`) starts with (`ft:gpt-4o-mini:*`, `openai/my-model-*`).
 */
function ownPrice(
  prices: Readonly<Record<string, ModelPrice>>,
  model: string,
  provider: string | undefined,
): ModelPrice | undefined {
  const qualified = provider ? `${provider}/${model}` : undefined
  const exact = (qualified ? prices[qualified] : undefined) ?? prices[model]
  if (exact) return exact
  let best: string | undefined
  for (const key of Object.keys(prices)) {
    if (!key.endsWith('*')) continue
    const prefix = key.slice(0, -1)
    if (model.startsWith(prefix) || (qualified?.startsWith(prefix) ?? false)) {
      if (best === undefined || key.length > best.length) best = key
    }
  }
  return best === undefined ? undefined : prices[best]
}

/**
 * The cost of one call of `model` (served by `provider`) that used `usage`, in US dollars; or
 * `undefined` when the model has no price. Synchronous once the catalog is loaded and the model's
 * price known.
 */
export function priceCall(
  usage: Usage,
  model: string | undefined,
  provider: string | undefined,
  prices: Readonly<Record<string, ModelPrice>> | undefined,
): number | undefined | Promise<number | undefined> {
  if (!model) return undefined
  if (prices) {
    const own = ownPrice(prices, model, provider)
    if (own) return costOf(usage, own)
  }
  if (catalog) return fromCatalog(catalog, usage, model, provider)
  return loadCatalog().then((loaded) => (loaded ? fromCatalog(loaded, usage, model, provider) : undefined))
}

function fromCatalog(
  loaded: Catalog,
  usage: Usage,
  model: string,
  provider: string | undefined,
): number | undefined {
  const key = provider ? `${provider}/${model}` : model
  let entry = found.get(key)
  if (!entry || (entry.kind !== 'unknown' && entry.until < Date.now())) {
    entry = lookUp(loaded, model, provider)
    found.set(key, entry)
  }
  if (entry.kind === 'flat') return costOf(usage, entry.price, entry.perRequestUsd)
  if (entry.kind === 'tiered') {
    try {
      const result = loaded.calcPrice(catalogUsage(usage), entry.model, { providerId: entry.providerId })
      return result ? nanos(result.total_price) : undefined
    } catch {
      return undefined
    }
  }
  warnOnce(
    key,
    `No price for model "${model}"${provider ? ` (provider ${provider})` : ''} in the model catalog: its calls have no costUsd. Give its price in the runner's \`prices\` option.`,
  )
  return undefined
}

function catalogUsage(usage: Usage): Record<string, number | undefined> {
  return {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cache_read_tokens: usage.cachedInputTokens,
    cache_write_tokens: usage.cacheWriteInputTokens,
  }
}

/** The catalog's price of `model`: of `provider` only when one is named (never another's). */
function lookUp(loaded: Catalog, model: string, provider: string | undefined): Found {
  let result: ReturnType<Catalog['calcPrice']>
  try {
    const providerId = provider ? (catalogProviders[provider] ?? provider) : undefined
    result = loaded.calcPrice(
      { input_tokens: 0, output_tokens: 0 },
      model,
      providerId ? { providerId } : undefined,
    )
  } catch {
    result = null
  }
  if (!result) return { kind: 'unknown' }
  const until = Date.now() + keepMs
  const prices = result.model_price
  const input = prices.input_mtok
  const output = prices.output_mtok
  const cacheRead = prices.cache_read_mtok
  const cacheWrite = prices.cache_write_mtok
  const requests = prices.requests_kcount
  const flat = (value: unknown) => value === undefined || typeof value === 'number'
  if (
    typeof input === 'number' &&
    typeof output === 'number' &&
    flat(cacheRead) &&
    flat(cacheWrite) &&
    flat(requests)
  ) {
    const price: ModelPrice = { inputPerMTokUsd: input, outputPerMTokUsd: output }
    if (typeof cacheRead === 'number') price.cacheReadPerMTokUsd = cacheRead
    if (typeof cacheWrite === 'number') price.cacheWritePerMTokUsd = cacheWrite
    return { kind: 'flat', price, perRequestUsd: typeof requests === 'number' ? requests / 1000 : 0, until }
  }
  return { kind: 'tiered', providerId: result.provider.id, model: result.model.id, until }
}
