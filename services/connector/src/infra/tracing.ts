/**
 * W3C trace context for NATS messages: the active span's context is injected
 * into the headers (`traceparent`, `tracestate`). Without an OpenTelemetry SDK
 * (no propagator registered) a fresh sampled-out traceparent is generated so
 * every event still carries one.
 */
import { randomBytes } from 'node:crypto';
import { context, propagation, trace } from '@opentelemetry/api';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

/** NATS headers with the current trace context (and `extra`). */
export function traceHeaders(extra: Record<string, string> = {}): MsgHdrs {
  const h = natsHeaders();
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (!carrier.traceparent) {
    const sc = trace.getActiveSpan()?.spanContext();
    carrier.traceparent =
      sc && sc.traceId !== '0'.repeat(32)
        ? `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`
        : `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`;
  }
  for (const [k, v] of Object.entries({ ...carrier, ...extra })) h.set(k, v);
  return h;
}
