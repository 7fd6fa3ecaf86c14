/**
 * JetStream plumbing of the notifier: the events stream (found by subject
 * when it exists under another name), the intake consumer, the dead-letter
 * stream `TG_DLQ` (`tg.dlq.<tenant>.<endpoint_id>`) and the operational
 * events it publishes onto the events stream.
 */
import { jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Event } from '@tgbridge/proto/events/v1/events';
import { EVENT_SUBJECT_PREFIX, eventSubject } from '@tgbridge/proto/subjects';
import { ensureConsumer, nanos } from '@tgbridge/platform/nats';

/** Subject prefix of dead letters. */
export const DLQ_SUBJECT_PREFIX = 'tg.dlq';

/**
 * Makes sure a stream captures `subjects`: returns the name of the stream
 * `name` when it exists, else creates it; when another stream already
 * captures the subjects (overlap), returns that one's name.
 */
export async function ensureStreamFor(
  jsm: JetStreamManager,
  name: string,
  subjects: string[],
  extra: { max_age?: number; duplicate_window?: number },
  logger: Logger,
): Promise<string> {
  try {
    await jsm.streams.info(name);
    return name;
  } catch (err) {
    if (!/not found/i.test(String((err as Error).message))) throw err;
  }
  try {
    await jsm.streams.add({ name, subjects, ...extra });
    return name;
  } catch (err) {
    const message = String((err as Error).message);
    if (/already in use|exists/i.test(message)) return name;
    if (!/overlap/i.test(message)) throw err;
    const probe = subjects[0]!.replace(/>$/, 'x.x.x.x.x').replace(/\*/g, 'x');
    const other = await jsm.streams.find(probe);
    logger.info(
      { stream: other, wanted: name },
      'subjects already captured by another stream; using it',
    );
    return other;
  }
}

/** Stream names in use. */
export interface Streams {
  events: string;
  dlq: string;
}

/**
 * Ensures the events stream (same base config as the connector), the DLQ
 * stream and the durable intake consumer.
 */
export async function ensureStreams(
  nc: NatsConnection,
  opts: {
    eventsStream: string;
    dlqStream: string;
    consumer: string;
    filter: string;
    ackWaitMs: number;
    maxAckPending: number;
    retentionMs: number;
  },
  logger: Logger,
): Promise<Streams> {
  const jsm = await jetstreamManager(nc);
  const events = await ensureStreamFor(
    jsm,
    opts.eventsStream,
    [`${EVENT_SUBJECT_PREFIX}.>`],
    { duplicate_window: nanos(15 * 60_000), max_age: nanos(7 * 24 * 3600_000) },
    logger,
  );
  const dlq = await ensureStreamFor(
    jsm,
    opts.dlqStream,
    [`${DLQ_SUBJECT_PREFIX}.>`],
    { max_age: nanos(opts.retentionMs), duplicate_window: nanos(120_000) },
    logger,
  );
  await ensureConsumer(jsm, events, {
    durable_name: opts.consumer,
    filter_subject: opts.filter,
    ack_policy: 'explicit' as never,
    deliver_policy: 'all' as never,
    ack_wait: nanos(opts.ackWaitMs),
    max_ack_pending: opts.maxAckPending,
    max_deliver: -1,
  });
  return { events, dlq };
}

/** Publishes dead letters and the notifier's own events. */
export class NotifierPublisher {
  constructor(
    private readonly js: JetStreamClient,
    private readonly logger: Logger,
  ) {}

  /** Dead letter on `tg.dlq.<tenant>.<endpoint>`; `Nats-Msg-Id` = `<deliveryId>#<attempts>`. */
  async deadLetter(letter: {
    tenantId: string;
    endpointId: string;
    deliveryId: string;
    attempts: number;
    record: Record<string, unknown>;
  }): Promise<void> {
    const tenant = /^[A-Za-z0-9_-]+$/.test(letter.tenantId) ? letter.tenantId : '_';
    await this.js.publish(
      `${DLQ_SUBJECT_PREFIX}.${tenant}.${letter.endpointId}`,
      JSON.stringify(letter.record),
      { msgID: `${letter.deliveryId}#${letter.attempts}` },
    );
  }

  /** Publishes an operational event (canonical Event JSON) onto the events stream. */
  async event(e: Event, traceparent?: string | null): Promise<void> {
    const h = headers();
    if (traceparent) h.set('traceparent', traceparent);
    try {
      await this.js.publish(eventSubject(e), JSON.stringify(Event.toJSON(e)), {
        msgID: e.eventId,
        headers: h,
      });
    } catch (err) {
      this.logger.warn(
        { eventId: e.eventId, err: (err as Error).message },
        'operational event not published',
      );
    }
  }
}
