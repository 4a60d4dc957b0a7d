import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { type ExportResult, ExportResultCode } from '@opentelemetry/core'
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { instrumentRunner } from '@runner/otel'

/** Exports nothing: what the SDK does up to the exporter is measured, not a collector. */
const noopSpanExporter: SpanExporter = {
  export: (_spans, done: (result: ExportResult) => void) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: async () => {},
}
const noopMetricExporter: PushMetricExporter = {
  export: (_metrics, done: (result: ExportResult) => void) => done({ code: ExportResultCode.SUCCESS }),
  forceFlush: async () => {},
  shutdown: async () => {},
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
}

/**
 * An OpenTelemetry SDK as an application sets it up (AsyncLocalStorage context, batched spans,
 * periodic metrics), with no-op exporters, and `instrumentRunner` on it, for the time of `work`.
 */
export async function withOtel<T>(work: () => Promise<T>): Promise<T> {
  const contextManager = new AsyncLocalStorageContextManager().enable()
  context.setGlobalContextManager(contextManager)
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(noopSpanExporter)],
  })
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({ exporter: noopMetricExporter, exportIntervalMillis: 60_000 }),
    ],
  })
  const instrumentation = instrumentRunner({ tracerProvider, meterProvider })
  try {
    return await work()
  } finally {
    instrumentation.shutdown()
    await tracerProvider.shutdown()
    await meterProvider.shutdown()
    context.disable()
  }
}
