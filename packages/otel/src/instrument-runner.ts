import {
  type Attributes,
  type Context,
  context,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'
import { InvalidOptionsError, RunCanceledError, type RunHooks, type Usage } from '@runner/core'
import {
  type HookRunInfo,
  type Instrumentation,
  redactSecrets,
  registerInstrumentation,
} from '@runner/core/adapter'
import { extractTraceparent, injectTraceparent } from './traceparent.js'
import { VERSION } from './version.js'

/** Options of `instrumentRunner`. */
export interface InstrumentRunnerOptions {
  /** Where spans go; the global tracer provider (`trace`) when absent. */
  tracerProvider?: TracerProvider
  /** Where metrics go; the global meter provider (`metrics`) when absent. */
  meterProvider?: MeterProvider
  /**
   * Record message content: the run's input and answer, each model call's messages and answer,
   * each tool call's arguments and result. Off by default (they may hold personal data); also on
   * when `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`. Secrets registered with
   * `registerSecret` are redacted from it.
   */
  captureContent?: boolean
}

/** What `instrumentRunner` returns. */
export interface RunnerInstrumentation {
  /** Stops instrumenting runs (runs already started finish their spans). Calling it again does nothing. */
  shutdown(): void
}

/** The name and version of the instrumentation scope (tracer and meter). */
export const INSTRUMENTATION_NAME = '@runner/otel'

/** What a model call is, as `gen_ai.operation.name` (the runners all talk to chat models). */
const chatOperation = 'chat'

/** Bucket boundaries the GenAI conventions advise. */
const tokenBuckets = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
]
const durationBuckets = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
]
const firstChunkBuckets = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]

/** The fields of the contract's model hooks that a runner may not report (absent until it does). */
interface ModelFields {
  model?: string
  provider?: string
  finishReasons?: string[]
  timeToFirstChunkMs?: number
}

/** One model call in flight. */
interface ModelCall {
  span: Span
  attributes: Attributes
  started: number
}

/** One run being traced. */
interface RunTrace {
  span: Span
  context: Context
  started: number
  agentName: string
  provider?: string
  requestModel?: string
  call?: ModelCall
  /** The error of the last retry, for a model call left open by a failed attempt. */
  lastError?: unknown
}

interface Instruments {
  tokens: Histogram
  operation: Histogram
  firstChunk: Histogram
  agent: Histogram
  tool: Histogram
}

/**
 * Traces and measures every run of this process with OpenTelemetry, per the GenAI semantic
 * conventions: an `invoke_agent {agentType}` span per run (in the active context: a pool task joins
 * the trace of the code that enqueued it, in any process), a `chat {model}` span per model call and
 * an `execute_tool {tool}` span per tool call under it; retries, fallbacks, wrap-up, cancel,
 * waiting, resume and status reports as events of the run's span; the GenAI client metrics. The
 * OpenTelemetry SDK (providers, exporters, propagator) is the application's to set up.
 */
export function instrumentRunner(options: InstrumentRunnerOptions = {}): RunnerInstrumentation {
  checkOptions(options)
  const tracerProvider = options.tracerProvider
  const meterProvider = options.meterProvider
  const captureContent =
    options.captureContent ?? process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT === 'true'
  const runs = new Map<string, RunTrace>()

  let tracer: Tracer | undefined
  const tracerOf = () => {
    tracer ??= (tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME, VERSION)
    return tracer
  }
  // Made on first use: a global meter provider registered after this call is the one used.
  let instruments: Instruments | undefined
  const measure = () => {
    instruments ??= makeInstruments(
      (meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME, VERSION),
    )
    return instruments
  }
  const content = (value: unknown): string | undefined => {
    const text = typeof value === 'string' ? value : safeJson(value)
    return text === undefined ? undefined : redactSecrets(text)
  }

  /** The run's trace, begun now if its `onRunStart` never came (a run that failed before it). */
  const runOf = (event: HookRunInfo): RunTrace => runs.get(event.agentId) ?? begin(event, undefined)

  const begin = (event: HookRunInfo, input: unknown): RunTrace => {
    const parent = context.active()
    const agentName = event.agentType
    const attributes: Attributes = {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': agentName,
      'gen_ai.agent.id': event.agentId,
      'gen_ai.conversation.id': event.agentId,
    }
    if (captureContent && input !== undefined) {
      const text = content(input)
      if (text !== undefined)
        attributes['gen_ai.input.messages'] = JSON.stringify([
          { role: 'user', parts: [{ type: 'text', content: text }] },
        ])
    }
    const span = tracerOf().startSpan(
      `invoke_agent ${agentName}`,
      { kind: SpanKind.INTERNAL, attributes },
      parent,
    )
    const run: RunTrace = {
      span,
      context: trace.setSpan(parent, span),
      started: performance.now(),
      agentName,
    }
    runs.set(event.agentId, run)
    return run
  }

  /** Ends the model call left open (its attempt failed before it answered). */
  const abandonCall = (run: RunTrace, error: unknown) => {
    const call = run.call
    if (!call) return
    run.call = undefined
    const errorType = errorTypeOf(error)
    call.span.setAttribute('error.type', errorType)
    call.span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) })
    call.span.end()
    measure().operation.record(seconds(performance.now() - call.started), {
      ...metricAttributes(call.attributes),
      'error.type': errorType,
    })
  }

  const finish = (agentId: string, run: RunTrace, error: unknown) => {
    runs.delete(agentId)
    const attributes: Attributes = {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': run.agentName,
    }
    if (run.provider) attributes['gen_ai.provider.name'] = run.provider
    if (run.requestModel) attributes['gen_ai.request.model'] = run.requestModel
    if (error !== undefined) {
      abandonCall(run, error)
      const errorType = errorTypeOf(error)
      attributes['error.type'] = errorType
      run.span.setAttribute('error.type', errorType)
      if (error instanceof Error) run.span.recordException(error)
      run.span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) })
    } else if (run.call) {
      abandonCall(run, new Error('The run ended before the model call answered'))
    }
    run.span.end()
    measure().agent.record(seconds(performance.now() - run.started), attributes)
  }

  const hooks: RunHooks = {
    onRunStart(event) {
      begin(event, event.input)
    },

    onModelCallStart(rawEvent) {
      const event = rawEvent as typeof rawEvent & ModelFields
      const run = runOf(event)
      if (run.call) abandonCall(run, run.lastError ?? new Error('The attempt failed'))
      const model = event.model ?? requestModelOf(event.request)
      const provider = event.provider
      const attributes: Attributes = {
        'gen_ai.operation.name': chatOperation,
        'gen_ai.conversation.id': event.agentId,
      }
      if (provider) {
        attributes['gen_ai.provider.name'] = provider
        if (!run.provider) {
          run.provider = provider
          run.span.setAttribute('gen_ai.provider.name', provider)
        }
      }
      if (model) {
        attributes['gen_ai.request.model'] = model
        if (!run.requestModel) {
          run.requestModel = model
          run.span.setAttribute('gen_ai.request.model', model)
        }
      }
      const spanAttributes = { ...attributes }
      if (captureContent) {
        const messages = content(messagesOf(event.request))
        if (messages !== undefined) spanAttributes['gen_ai.input.messages'] = messages
      }
      const span = tracerOf().startSpan(
        model ? `${chatOperation} ${model}` : chatOperation,
        { kind: SpanKind.CLIENT, attributes: spanAttributes },
        run.context,
      )
      run.call = { span, attributes, started: performance.now() }
    },

    onModelCallEnd(rawEvent) {
      const event = rawEvent as typeof rawEvent & ModelFields
      const run = runs.get(event.agentId)
      const call = run?.call
      if (!run || !call) return
      run.call = undefined
      const { span } = call
      const attributes = { ...call.attributes }
      if (event.provider && attributes['gen_ai.provider.name'] === undefined) {
        attributes['gen_ai.provider.name'] = event.provider
        span.setAttribute('gen_ai.provider.name', event.provider)
      }
      if (event.model) {
        attributes['gen_ai.response.model'] = event.model
        span.setAttribute('gen_ai.response.model', event.model)
      }
      if (event.finishReasons && event.finishReasons.length > 0)
        span.setAttribute('gen_ai.response.finish_reasons', event.finishReasons)
      const usage = event.usage
      if (usage) setUsage(span, usage)
      if (captureContent) {
        const output = outputMessages(event.text, event.toolCalls, event.finishReasons?.[0])
        const text = content(output)
        if (text !== undefined) span.setAttribute('gen_ai.output.messages', text)
      }
      const { tokens, operation, firstChunk } = measure()
      const metric = metricAttributes(attributes)
      if (event.timeToFirstChunkMs !== undefined) {
        span.setAttribute('gen_ai.response.time_to_first_chunk', seconds(event.timeToFirstChunkMs))
        firstChunk.record(seconds(event.timeToFirstChunkMs), metric)
      }
      span.end()
      operation.record(seconds(event.durationMs), metric)
      if (usage) {
        tokens.record(usage.inputTokens, { ...metric, 'gen_ai.token.type': 'input' })
        tokens.record(usage.outputTokens, { ...metric, 'gen_ai.token.type': 'output' })
      }
    },

    onToolCallEnd(event) {
      const run = runOf(event)
      const end = Date.now()
      const attributes: Attributes = {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': event.toolName,
        'gen_ai.tool.call.id': event.toolCallId,
        'gen_ai.tool.type': 'function',
      }
      if (captureContent) {
        const args = content(event.input)
        if (args !== undefined) attributes['gen_ai.tool.call.arguments'] = args
        const result = content(event.output)
        if (result !== undefined) attributes['gen_ai.tool.call.result'] = result
      }
      const span = tracerOf().startSpan(
        `execute_tool ${event.toolName}`,
        { kind: SpanKind.INTERNAL, attributes, startTime: end - event.durationMs },
        run.context,
      )
      const metric: Attributes = {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': event.toolName,
        'gen_ai.tool.type': 'function',
      }
      if (event.isError) {
        span.setAttribute('error.type', toolErrorType)
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: 'The tool call failed, was denied or got invalid input',
        })
        metric['error.type'] = toolErrorType
      }
      span.end(end)
      measure().tool.record(seconds(event.durationMs), metric)
    },

    onRetry(event) {
      const run = runOf(event)
      run.lastError = event.error
      const attributes: Attributes = {
        'runner.attempt': event.attempt,
        'runner.retry.next_attempt': event.nextAttempt,
        'runner.retry.max_attempts': event.maxAttempts,
        'runner.retry.delay_ms': event.delayMs,
        'error.type': errorTypeOf(event.error),
        'exception.message': errorMessage(event.error),
      }
      run.span.addEvent('runner.retry', attributes)
      run.call?.span.addEvent('runner.retry', attributes)
    },

    onStatusUpdate(rawEvent) {
      const event = rawEvent as typeof rawEvent & { kind?: string }
      const run = runs.get(event.agentId)
      if (!run) return
      const attributes: Attributes = {
        'runner.status': event.status,
        'runner.status.message': event.message,
        'runner.attempt': event.attempt,
      }
      if (event.kind !== undefined) attributes['runner.status.kind'] = event.kind
      if (event.percentage !== null) attributes['runner.status.percentage'] = event.percentage
      run.span.addEvent(statusEventName(event.kind), attributes)
    },

    onRunEnd(event) {
      const run = runOf(event)
      const { result } = event
      run.span.setAttribute('runner.run.status', result.status)
      run.span.setAttribute('runner.run.attempts', result.attempts)
      run.span.setAttribute('runner.run.turns', result.turns)
      setUsage(run.span, result.usage)
      if (result.status === 'waiting') {
        run.span.addEvent('runner.waiting', { 'runner.pending': result.pending.length })
      } else if (captureContent && result.text !== undefined) {
        const text = content(result.text)
        if (text !== undefined)
          run.span.setAttribute(
            'gen_ai.output.messages',
            JSON.stringify([
              { role: 'assistant', parts: [{ type: 'text', content: text }], finish_reason: 'stop' },
            ]),
          )
      }
      finish(event.agentId, run, undefined)
    },

    onRunError(event) {
      const run = runOf(event)
      const { error } = event
      const canceled = RunCanceledError.isInstance(error)
      run.span.setAttribute('runner.run.status', canceled ? 'canceled' : 'error')
      if (canceled) run.span.addEvent('runner.cancel', { 'exception.message': errorMessage(error) })
      finish(event.agentId, run, error)
    },
  }

  const instrumentation: Instrumentation = {
    hooks,
    inject() {
      const carrier: Record<string, string> = {}
      const active = context.active()
      propagation.inject(active, carrier)
      // No propagator registered (the API's default does nothing): W3C trace context all the same.
      if (carrier.traceparent === undefined) injectTraceparent(active, carrier)
      return Object.keys(carrier).length === 0 ? undefined : carrier
    },
    withContext(carrier, fn) {
      if (!carrier) return fn()
      let extracted = propagation.extract(context.active(), carrier)
      if (!trace.getSpanContext(extracted)) extracted = extractTraceparent(extracted, carrier)
      return context.with(extracted, fn)
    },
    withRun(run, fn) {
      const traced = runs.get(run.agentId)
      return traced ? context.with(traced.context, fn) : fn()
    },
  }
  let unregister: (() => void) | undefined = registerInstrumentation(instrumentation)
  return {
    shutdown() {
      unregister?.()
      unregister = undefined
    },
  }
}

/** `error.type` of a tool call that failed, was denied or got invalid input. */
const toolErrorType = 'tool_error'

function checkOptions(options: unknown): asserts options is InstrumentRunnerOptions {
  const issue = (field: string, message: string) =>
    new InvalidOptionsError([{ field, message }], { subject: 'instrumentRunner options' })
  if (typeof options !== 'object' || options === null) throw issue('options', 'must be an object')
  const { tracerProvider, meterProvider, captureContent } = options as Record<string, unknown>
  if (tracerProvider !== undefined && typeof (tracerProvider as TracerProvider)?.getTracer !== 'function')
    throw issue('tracerProvider', 'must be an OpenTelemetry TracerProvider (with getTracer)')
  if (meterProvider !== undefined && typeof (meterProvider as MeterProvider)?.getMeter !== 'function')
    throw issue('meterProvider', 'must be an OpenTelemetry MeterProvider (with getMeter)')
  if (captureContent !== undefined && typeof captureContent !== 'boolean')
    throw issue('captureContent', 'must be true or false')
}

function makeInstruments(meter: Meter): Instruments {
  return {
    tokens: meter.createHistogram('gen_ai.client.token.usage', {
      unit: '{token}',
      description: 'Number of input and output tokens used.',
      advice: { explicitBucketBoundaries: tokenBuckets },
    }),
    operation: meter.createHistogram('gen_ai.client.operation.duration', {
      unit: 's',
      description: 'GenAI operation duration.',
      advice: { explicitBucketBoundaries: durationBuckets },
    }),
    firstChunk: meter.createHistogram('gen_ai.client.operation.time_to_first_chunk', {
      unit: 's',
      description: 'Time to receive the first chunk of a streamed response.',
      advice: { explicitBucketBoundaries: firstChunkBuckets },
    }),
    agent: meter.createHistogram('gen_ai.invoke_agent.duration', {
      unit: 's',
      description: 'Duration of a GenAI agent invocation (one run).',
      advice: { explicitBucketBoundaries: durationBuckets },
    }),
    tool: meter.createHistogram('gen_ai.execute_tool.duration', {
      unit: 's',
      description: 'Duration of a tool execution.',
      advice: { explicitBucketBoundaries: durationBuckets },
    }),
  }
}

/** The attributes of a model call that its metrics carry (no conversation id: unbounded). */
function metricAttributes(attributes: Attributes): Attributes {
  const { 'gen_ai.conversation.id': _conversation, ...rest } = attributes
  return rest
}

function setUsage(span: Span, usage: Usage): void {
  span.setAttribute('gen_ai.usage.input_tokens', usage.inputTokens)
  span.setAttribute('gen_ai.usage.output_tokens', usage.outputTokens)
  if (usage.cachedInputTokens !== undefined)
    span.setAttribute('gen_ai.usage.cache_read.input_tokens', usage.cachedInputTokens)
  const { cacheWriteInputTokens, costUsd } = usage as Usage & {
    cacheWriteInputTokens?: number
    costUsd?: number
  }
  if (cacheWriteInputTokens !== undefined)
    span.setAttribute('gen_ai.usage.cache_creation.input_tokens', cacheWriteInputTokens)
  // Not in the GenAI conventions (they have no cost yet): in the runner's own namespace.
  if (costUsd !== undefined) span.setAttribute('runner.usage.cost_usd', costUsd)
}

function statusEventName(kind: string | undefined): string {
  switch (kind) {
    case 'fallback':
      return 'runner.fallback'
    case 'resume':
      return 'runner.resume'
    case 'approval':
      return 'runner.approval'
    case 'retry':
      return 'runner.retry_logged'
    case 'lifecycle':
      return 'runner.lifecycle'
    default:
      return 'runner.status'
  }
}

/** The model a framework's request names, when it names one as a string (`{ model: 'gpt-4o' }`). */
function requestModelOf(request: unknown): string | undefined {
  if (typeof request !== 'object' || request === null) return undefined
  const model = (request as { model?: unknown }).model
  return typeof model === 'string' && model.length > 0 ? model : undefined
}

/** The messages of a framework's request (its `messages` or `input`), else the whole request. */
function messagesOf(request: unknown): unknown {
  if (typeof request !== 'object' || request === null) return request
  const { messages, input } = request as { messages?: unknown; input?: unknown }
  return messages ?? input ?? request
}

function outputMessages(
  text: string,
  toolCalls: ReadonlyArray<{ toolCallId: string; toolName: string; input: unknown }>,
  finishReason: string | undefined,
): unknown {
  const parts: unknown[] = []
  if (text) parts.push({ type: 'text', content: text })
  for (const call of toolCalls)
    parts.push({ type: 'tool_call', id: call.toolCallId, name: call.toolName, arguments: call.input })
  return [
    {
      role: 'assistant',
      parts,
      finish_reason: finishReason ?? (toolCalls.length > 0 ? 'tool_call' : 'stop'),
    },
  ]
}

/** A low-cardinality name of an error: its class name (`RateLimitError`, `RunTimeoutError`), else `_OTHER`. */
export function errorTypeOf(error: unknown): string {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'name' in error)) {
    const name = (error as { name?: unknown }).name
    if (typeof name === 'string' && name.length > 0 && name !== 'Error') return name
    const constructorName = (error as object).constructor?.name
    if (constructorName && constructorName !== 'Object') return constructorName
  }
  return '_OTHER'
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? redactSecrets(error.message) : redactSecrets(String(error))
}

function safeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}

function seconds(ms: number): number {
  return ms / 1000
}
