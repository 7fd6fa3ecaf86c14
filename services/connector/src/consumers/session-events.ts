/**
 * Reacts to the auth service's session events within a second: an ordered
 * (ephemeral, per-shard) JetStream consumer on
 * `tg.evt.*.*.*.session_authorized` and `tg.evt.*.*.*.session_logged_out`,
 * starting with new messages. `session_authorized` adds (or, after a new
 * login of the same session, restarts) the session; `session_logged_out`
 * removes it (its owner disconnects and releases the lease). A periodic
 * MongoDB reconcile covers anything missed.
 */
import { DeliverPolicy, type JetStreamClient, type ConsumerMessages } from '@nats-io/jetstream';
import type { Logger } from '@tgbridge/platform/logging';
import { Event } from '@tgbridge/proto/events/v1/events';
import { EVENT_SUBJECT_PREFIX, EventType } from '@tgbridge/proto/subjects';

/** What to do on each event. */
export interface SessionEventHandlers {
  authorized(ref: { id: string; tenantId: string; agentId: string }): void;
  loggedOut(id: string): void;
}

/** A running consumer; `stop()` ends it. */
export interface SessionEventsConsumer {
  stop(): Promise<void>;
}

/** Starts the consumer on `stream`. @throws when the stream does not exist */
export async function startSessionEventsConsumer(
  js: JetStreamClient,
  stream: string,
  h: SessionEventHandlers,
  log: Logger,
): Promise<SessionEventsConsumer> {
  const consumer = await js.consumers.get(stream, {
    filter_subjects: [
      `${EVENT_SUBJECT_PREFIX}.*.*.*.${EventType.SessionAuthorized}`,
      `${EVENT_SUBJECT_PREFIX}.*.*.*.${EventType.SessionLoggedOut}`,
    ],
    deliver_policy: DeliverPolicy.New,
  });
  const messages: ConsumerMessages = await consumer.consume();
  const done = (async () => {
    for await (const m of messages) {
      try {
        const e = Event.fromJSON(m.json());
        if (e.type === EventType.SessionAuthorized)
          h.authorized({ id: e.sessionId, tenantId: e.tenantId, agentId: e.agentId });
        else if (e.type === EventType.SessionLoggedOut) h.loggedOut(e.sessionId);
      } catch (err) {
        log.warn({ err: { message: (err as Error).message } }, 'bad session event ignored');
      }
    }
  })();
  return {
    stop: async () => {
      await messages.close();
      await done.catch(() => {});
    },
  };
}
