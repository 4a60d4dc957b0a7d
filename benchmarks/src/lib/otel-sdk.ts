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

/** The SDK, set up once per process as an application does (its context manager stays registered). */
let sdk: { tracerProvider: BasicTracerProvider; meterProvider: MeterProvider } | undefined

function otelSdk() {
  if (sdk) return sdk
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  sdk = {
    tracerProvider: new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(noopSpanExporter)] }),
    meterProvider: new MeterProvider({
      readers: [
        new PeriodicExportingMetricReader({ exporter: noopMetricExporter, exportIntervalMillis: 60_000 }),
      ],
    }),
  }
  return sdk
}

/**
 * Runs `work` with `instrumentRunner` registered on an OpenTelemetry SDK as an application sets it
 * up (AsyncLocalStorage context, batched spans, periodic metrics) whose exporters do nothing. The
 * SDK is made once, outside the timed work of the first batch that needs it.
 */
export function withOtel<T>(work: () => Promise<T>): () => Promise<T> {
  const { tracerProvider, meterProvider } = otelSdk()
  return async () => {
    const instrumentation = instrumentRunner({ tracerProvider, meterProvider })
    try {
      return await work()
    } finally {
      instrumentation.shutdown()
    }
  }
}
