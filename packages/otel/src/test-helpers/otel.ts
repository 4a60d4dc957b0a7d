import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { type InstrumentRunnerOptions, instrumentRunner } from '../index.js'

let contextManager: AsyncLocalStorageContextManager | undefined

/** The AsyncLocalStorage context manager, as a Node application's SDK sets it (once per process). */
export function useAsyncContext(): void {
  if (contextManager) return
  contextManager = new AsyncLocalStorageContextManager().enable()
  context.setGlobalContextManager(contextManager)
}

/** A metric reader the test collects from when it wants. */
class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface HistogramPoint {
  attributes: Record<string, unknown>
  count: number
  sum: number
}

/**
 * An OpenTelemetry SDK in memory (spans in an `InMemorySpanExporter`, metrics in a reader collected
 * on demand) and `instrumentRunner` on it. `await using` shuts both down.
 */
export function otelInMemory(
  options: Omit<InstrumentRunnerOptions, 'tracerProvider' | 'meterProvider'> = {},
) {
  useAsyncContext()
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const reader = new CollectingReader()
  const meterProvider = new MeterProvider({ readers: [reader] })
  const instrumentation = instrumentRunner({ ...options, tracerProvider, meterProvider })
  const spans = (): ReadableSpan[] => exporter.getFinishedSpans()
  return {
    tracerProvider,
    meterProvider,
    instrumentation,
    spans,
    /** The finished span named `name` (exactly one). */
    span(name: string): ReadableSpan {
      const found = spans().filter((span) => span.name === name)
      if (found.length !== 1)
        throw new Error(`expected one span "${name}", found ${found.length} in ${spans().map((s) => s.name)}`)
      return found[0] as ReadableSpan
    },
    /** The points of histogram `name`. */
    async histogram(name: string): Promise<HistogramPoint[]> {
      const { resourceMetrics } = await reader.collect()
      const points: HistogramPoint[] = []
      for (const scope of resourceMetrics.scopeMetrics)
        for (const metric of scope.metrics) {
          if (metric.descriptor.name !== name) continue
          for (const point of metric.dataPoints as DataPoint<Histogram>[])
            points.push({
              attributes: { ...point.attributes },
              count: point.value.count,
              sum: point.value.sum ?? 0,
            })
        }
      return points
    },
    async [Symbol.asyncDispose]() {
      instrumentation.shutdown()
      await tracerProvider.shutdown()
      await meterProvider.shutdown()
    },
  }
}

/** The parent span id of `span` (SDK 2.x: `parentSpanContext`). */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId
}
