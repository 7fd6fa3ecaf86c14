/**
 * Session events of the auth service on JetStream (`session_authorized`,
 * `session_logged_out`): canonical JSON of tgbridge.events.v1.Event on
 * `tg.evt.<tenant>.<agent>.<session>.<type>`, `Nats-Msg-Id` = event_id,
 * trace context in headers. The stream is created when missing (the
 * connector owns its limits and updates them; auth never changes an
 * existing stream).
 */
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { SessionStatus } from '@tgbridge/proto/common/v1/common';
import { type User } from '@tgbridge/proto/common/v1/common';
import { Event } from '@tgbridge/proto/events/v1/events';
import { EVENT_SUBJECT_PREFIX, eventSubject, type EventType } from '@tgbridge/proto/subjects';
import { tracePublish } from '@tgbridge/platform/telemetry';

/**
 * Creates the events stream when it does not exist yet (same base config as
 * the connector). When another stream already captures `tg.evt.>` (subjects
 * overlap) events go there: logged, not an error.
 */
export async function ensureEventsStream(
  nc: NatsConnection,
  name: string,
  logger: Logger,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(name);
    return;
  } catch (err) {
    if (!/not found/i.test(String((err as Error).message))) throw err;
  }
  try {
    await jsm.streams.add({
      name,
      subjects: [`${EVENT_SUBJECT_PREFIX}.>`],
      duplicate_window: 15 * 60 * 1_000_000_000,
      max_age: 7 * 24 * 3600 * 1_000_000_000,
      max_msg_size: 1024 * 1024,
    });
  } catch (err) {
    const message = String((err as Error).message);
    if (/overlap/i.test(message)) {
      logger.warn({ stream: name }, 'another stream already captures tg.evt.>; not creating');
      return;
    }
    // another process created it meanwhile
    if (!/already in use|exists/i.test(message)) throw err;
  }
}

/** What a session event says. */
export interface SessionEventInput {
  type: EventType;
  tenantId: string;
  agentId: string;
  sessionId: string;
  /** Event.sequence (per session, from the session document's eventSequence). */
  sequence: number;
  status: SessionStatus;
  reason?: string;
  user?: User;
}

/** Publishes session events; failures are logged, never thrown (the DB is the truth). */
export class EventPublisher {
  readonly #js: JetStreamClient;

  constructor(
    nc: NatsConnection,
    private readonly logger: Logger,
  ) {
    this.#js = jetstream(nc);
  }

  /** Publishes one event and waits for the JetStream ack. @returns true when acknowledged */
  async publish(e: SessionEventInput): Promise<boolean> {
    const event = Event.fromPartial({
      eventId: `auth:${e.sessionId}:${e.type}`,
      type: e.type,
      tenantId: e.tenantId,
      agentId: e.agentId,
      sessionId: e.sessionId,
      occurredAt: new Date(),
      sequence: String(e.sequence),
      payload: {
        $case: 'session',
        value: { status: e.status, reason: e.reason, user: e.user },
      },
    });
    const subject = eventSubject(event);
    try {
      await tracePublish('tg.evt', subject, event.eventId, headers(), (h) =>
        this.#js.publish(subject, JSON.stringify(Event.toJSON(event)), {
          msgID: event.eventId,
          headers: h,
        }),
      );
      return true;
    } catch (err) {
      this.logger.error(
        { err, sessionId: e.sessionId, type: e.type },
        'event publish failed (session state is in MongoDB)',
      );
      return false;
    }
  }
}
