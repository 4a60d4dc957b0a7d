import { type Context, type SpanContext, TraceFlags, trace } from '@opentelemetry/api'

/**
 * W3C trace context (`traceparent`), for an application that registered no propagator (the
 * OpenTelemetry API's default propagates nothing). A registered propagator is used first.
 */
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/
const invalidTraceId = '0'.repeat(32)
const invalidSpanId = '0'.repeat(16)

/** Writes the `traceparent` of the span active in `active`, if there is a valid one. */
export function injectTraceparent(active: Context, carrier: Record<string, string>): void {
  const spanContext = trace.getSpanContext(active)
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0')
  carrier.traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`
}

/** `base` with the remote span `carrier.traceparent` names, when it names one; `base` otherwise. */
export function extractTraceparent(base: Context, carrier: Record<string, string>): Context {
  const header = carrier.traceparent?.trim().toLowerCase()
  const match = header === undefined ? null : traceparentPattern.exec(header)
  if (!match) return base
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string]
  if (traceId === invalidTraceId || spanId === invalidSpanId) return base
  const spanContext: SpanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  }
  return trace.setSpanContext(base, spanContext)
}
