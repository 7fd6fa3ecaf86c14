/**
 * Publishes events to JetStream: subject `tg.evt.<tenant>.<agent>.<session>.<type>`,
 * canonical proto3 JSON body, `Nats-Msg-Id` = event id (server-side
 * de-duplication within the stream's duplicate window). Every publish runs in
 * a PRODUCER span (`send tg.evt`, messaging.system=nats) whose W3C trace
 * context (`traceparent`) goes into the message headers, so the notifier and
 * other consumers continue the trace.
 */
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { tracePublish } from '@tgbridge/platform/telemetry';
import { Event } from '@tgbridge/proto/events/v1/events';
import { eventSubject } from '@tgbridge/proto/subjects';
import type { Metrics } from '../metrics.js';

/** Publishes one event and resolves with JetStream's ack. */
export type PublishFn = (e: Event) => Promise<PubAck>;

/**
 * A {@link PublishFn} over `js` that records metrics (latency, events by type).
 * @param timeoutMs how long to wait for JetStream's ack
 * @throws on a missing ack (timeout) or a rejected publish
 */
export function createPublisher(
  js: JetStreamClient,
  metrics: Metrics,
  timeoutMs = 10_000,
): PublishFn {
  return async (e) => {
    const started = performance.now();
    const subject = eventSubject(e);
    const body = JSON.stringify(Event.toJSON(e));
    const ack = await tracePublish('tg.evt', subject, e.eventId, natsHeaders(), (headers) =>
      js.publish(subject, body, { msgID: e.eventId, headers, timeout: timeoutMs }),
    );
    metrics.publishLatency.observe((performance.now() - started) / 1000);
    metrics.eventsPublished.inc({ type: e.type, recovered: e.recovered ? 'true' : 'false' });
    if (e.recovered) metrics.recoveredEvents.inc();
    return ack;
  };
}
