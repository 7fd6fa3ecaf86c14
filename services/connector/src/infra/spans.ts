/**
 * The connector's own spans (OpenTelemetry; no-ops when the SDK is not
 * started, e.g. in-process tests):
 *
 * - {@link inUpdateSpan}: an INTERNAL root span around the processing of one
 *   raw Telegram `Updates` object, so every inbound message starts its own
 *   trace; the events it publishes are PRODUCER spans under it
 *   (infra/publisher.ts) and the notifier continues the trace from their
 *   `traceparent` header.
 * - {@link inCommandSpan}: a CONSUMER span (`process tg.cmd.<command>`) for a
 *   gateway command received over NATS request/reply, child of the caller's
 *   trace context from the request headers, so REST → NATS → connector →
 *   Telegram (and the events the command publishes) is one trace.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import type { Msg } from '@nats-io/transport-node';
import { extractTraceContext, getTracer } from '@tgbridge/platform/telemetry';

const tracer = (): ReturnType<typeof getTracer> => getTracer('tgbridge.connector');

async function run<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs `fn` in a new root INTERNAL span `tg.update <kind>` (no parent, even
 * when a context is active). `kind` is the TL constructor name of the update
 * container (e.g. `UpdateShortMessage`). Rethrows what `fn` throws.
 */
export function inUpdateSpan<T>(kind: string, sessionId: string, fn: () => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(
    `tg.update ${kind}`,
    {
      kind: SpanKind.INTERNAL,
      root: true,
      attributes: { 'tgbridge.session_id': sessionId, 'telegram.update': kind },
    },
    ROOT_CONTEXT,
    (span) => run(span, fn),
  );
}

/**
 * Runs `fn` in a CONSUMER span `process tg.cmd.<command>` whose parent is the
 * trace context in the request's headers (`traceparent`), or a new trace when
 * there is none. Rethrows what `fn` throws.
 */
export function inCommandSpan<T>(
  msg: Msg,
  command: string,
  sessionId: string,
  fn: () => Promise<T>,
): Promise<T> {
  const parent = extractTraceContext(msg.headers, ROOT_CONTEXT);
  return tracer().startActiveSpan(
    `process tg.cmd.${command}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.destination.name': `tg.cmd.*.${command}`,
        'tgbridge.session_id': sessionId,
        'tgbridge.command': command,
      },
    },
    parent,
    (span) => run(span, fn),
  );
}
