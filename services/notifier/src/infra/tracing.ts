/**
 * Trace context of webhook deliveries (W3C Trace Context). Intake opens a
 * CONSUMER span per event as a child of the producer's `traceparent` (NATS
 * header) and stores the consumer span's context with the delivery; each
 * attempt is a CLIENT span (`POST`) under it, and its `traceparent` is what
 * the receiver gets, so the CRM's trace continues the event's trace.
 * Without a started OpenTelemetry SDK the spans are no-ops and the
 * producer's `traceparent` is passed through unchanged.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { extractTraceContext, type HeaderCarrier } from '@tgbridge/platform/telemetry';

const tracer = trace.getTracer('tgbridge-notifier');

/** Starts the CONSUMER span of one received event. */
export function startConsumeSpan(headers: HeaderCarrier | undefined, subject: string): Span {
  const parent = extractTraceContext(headers, ROOT_CONTEXT);
  return tracer.startSpan(
    `${subject.split('.').slice(0, 2).join('.')} process`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.destination.name': subject,
        'messaging.operation.type': 'process',
      },
    },
    parent,
  );
}

/** `traceparent` of a span's context (null when there is none). */
export function traceparentOf(span: Span, fallback: string | null): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  return carrier.traceparent ?? fallback;
}

/** Context continuing a stored `traceparent`. */
export function contextOf(traceparent: string | null): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/** Starts the CLIENT span of one webhook attempt; returns it and the `traceparent` to send. */
export function startAttemptSpan(
  traceparent: string | null,
  url: URL,
  endpointId: string,
): { span: Span; traceparent: string | null } {
  const parent = contextOf(traceparent);
  const span = tracer.startSpan(
    'POST',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': 'POST',
        'server.address': url.hostname,
        'url.scheme': url.protocol.replace(':', ''),
        'tgbridge.webhook.endpoint_id': endpointId,
      },
    },
    parent,
  );
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(parent, span), carrier);
  return { span, traceparent: carrier.traceparent ?? traceparent };
}

/** Ends an attempt span with its outcome. */
export function endAttemptSpan(
  span: Span,
  statusCode: number | undefined,
  error: string | undefined,
): void {
  if (statusCode !== undefined) span.setAttribute('http.response.status_code', statusCode);
  if (error || statusCode === undefined || statusCode >= 400) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error ?? `HTTP ${statusCode}` });
  }
  span.end();
}
