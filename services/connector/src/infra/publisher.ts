/**
 * Publishes events to JetStream: subject `tg.evt.<tenant>.<agent>.<session>.<type>`,
 * canonical proto3 JSON body, `Nats-Msg-Id` = event id (server-side
 * de-duplication within the stream's duplicate window), trace headers.
 */
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { Event } from '@tgbridge/proto/events/v1/events';
import { eventSubject } from '@tgbridge/proto/subjects';
import { traceHeaders } from './tracing.js';
import type { Metrics } from '../metrics.js';

/** Publishes one event and resolves with JetStream's ack. */
export type PublishFn = (e: Event) => Promise<PubAck>;

/** A {@link PublishFn} over `js` that records metrics. @throws on a missing ack (timeout) */
export function createPublisher(
  js: JetStreamClient,
  metrics: Metrics,
  timeoutMs = 10_000,
): PublishFn {
  return async (e) => {
    const started = performance.now();
    const ack = await js.publish(eventSubject(e), JSON.stringify(Event.toJSON(e)), {
      msgID: e.eventId,
      headers: traceHeaders(),
      timeout: timeoutMs,
    });
    metrics.publishLatency.observe((performance.now() - started) / 1000);
    metrics.eventsPublished.inc({ type: e.type, recovered: e.recovered ? 'true' : 'false' });
    if (e.recovered) metrics.recoveredEvents.inc();
    return ack;
  };
}
