/**
 * examples/consumer.ts against the real NATS JetStream of the test global
 * setup: canonical events of a unique tenant are consumed in order, duplicates
 * (same Nats-Msg-Id, or same eventId re-published) are dropped, a sequence gap
 * is reported, a failing handler gets the event again, poison is terminated,
 * and everything ends acknowledged.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { uniqueName } from '@tgbridge/testinfra';
import { SessionStatus } from '@tgbridge/proto/common/v1/common';
import { Event } from '@tgbridge/proto/events/v1/events';
import { eventSubject } from '@tgbridge/proto/subjects';
import { consumeEvents, SessionSequences, type Gap } from '../examples/consumer.js';

const tenant = uniqueName('tenant');
const S1 = '11111111-1111-4111-8111-111111111111';
const S2 = '22222222-2222-4222-8222-222222222222';

function event(sessionId: string, sequence: number, type = 'new_message'): Event {
  return Event.fromPartial({
    eventId: `${sessionId}:x:${sequence}`,
    type,
    tenantId: tenant,
    agentId: 'agent-1',
    sessionId,
    occurredAt: new Date(Date.UTC(2025, 11, 20, 10, 30, sequence)),
    sequence: String(sequence),
    payload:
      type === 'new_message'
        ? { $case: 'message', value: { message: { id: sequence, text: `m${sequence}` } } }
        : { $case: 'session', value: { status: SessionStatus.CONNECTED } },
  });
}

describe('examples/consumer.ts', () => {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let stream: string;
  let ownStream = false;
  const durable = uniqueName('example');

  beforeAll(async () => {
    nc = await connect({ servers: inject('natsUrl') });
    js = jetstream(nc);
    jsm = await js.jetstreamManager();
    // Use the stream that captures tg.evt.> when one exists (TG_EVENTS or a
    // test's); else one of our own for this tenant only (streams may not overlap).
    try {
      stream = await jsm.streams.find(`tg.evt.${tenant}.a.s.t`);
    } catch {
      stream = uniqueName('TGEVT');
      ownStream = true;
      await jsm.streams.add({
        name: stream,
        subjects: [`tg.evt.${tenant}.>`],
        duplicate_window: 60_000_000_000,
      });
    }
  });

  afterAll(async () => {
    if (ownStream) await jsm?.streams.delete(stream).catch(() => undefined);
    else await jsm?.consumers.delete(stream, durable).catch(() => undefined);
    await nc?.drain();
  });

  const publish = async (e: Event, msgID = e.eventId) =>
    js.publish(eventSubject(e), JSON.stringify(Event.toJSON(e)), { msgID });

  it('consumes in order, drops duplicates, reports the gap, retries failures and acks all', async () => {
    expect((await publish(event(S1, 1))).duplicate).toBe(false);
    await publish(event(S1, 2, 'message_edited'));
    await publish(event(S2, 1, 'session_connected'));
    // same Nats-Msg-Id within the duplicate window: JetStream does not store it
    expect((await publish(event(S1, 2, 'message_edited'))).duplicate).toBe(true);
    await js.publish(`tg.evt.${tenant}.agent-1.${S1}.new_message`, 'not json', { msgID: 'junk' });
    await publish(event(S1, 3));
    // same event re-published outside the window (other Nats-Msg-Id): stored, dropped by eventId
    await publish(event(S1, 3), 'republished-later');
    await publish(event(S1, 5)); // 4 never published
    const last = await publish(event(S2, 2));

    const handled: string[] = [];
    const gaps: Gap[] = [];
    let failures = 0;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 20_000);
    await consumeEvents(js, {
      stream,
      durable,
      filterSubject: `tg.evt.${tenant}.>`,
      retryDelayMs: 50,
      signal: abort.signal,
      onGap: (gap) => gaps.push(gap),
      handle: async (e) => {
        if (e.sessionId === S2 && e.sequence === '2' && failures++ === 0) {
          throw new Error('transient');
        }
        handled.push(`${e.sessionId === S1 ? 'S1' : 'S2'}#${e.sequence}`);
        if (handled.length === 6) abort.abort();
      },
    });
    clearTimeout(timer);

    expect(handled).toEqual(['S1#1', 'S1#2', 'S2#1', 'S1#3', 'S1#5', 'S2#2']);
    expect(failures).toBe(2); // failed once, succeeded on redelivery
    expect(gaps).toEqual([{ sessionId: S1, expected: 4n, received: 5n, missing: 1n }]);

    const info = await jsm.consumers.info(stream, durable);
    expect(info.config.filter_subject).toBe(`tg.evt.${tenant}.>`);
    expect(info.num_pending).toBe(0);
    expect(info.num_ack_pending).toBe(0);
    expect(info.ack_floor.stream_seq).toBe(last.seq);
  });

  it('a durable consumer resumes after the last ack', async () => {
    await publish(event(S1, 6));
    const handled: string[] = [];
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 20_000);
    await consumeEvents(js, {
      stream,
      durable,
      filterSubject: `tg.evt.${tenant}.>`,
      signal: abort.signal,
      handle: async (e) => {
        handled.push(e.sequence);
        abort.abort();
      },
    });
    clearTimeout(timer);
    expect(handled).toEqual(['6']);
  });
});

describe('SessionSequences', () => {
  it('classifies first, next, gap, older and unsequenced events', () => {
    const s = new SessionSequences();
    const kinds = [3, 4, 7, 5].map((n) => s.observe(event(S1, n)).kind);
    expect(kinds).toEqual(['first', 'next', 'gap', 'older']);
    expect(s.observe(event(S2, 1)).kind).toBe('first');
    expect(s.observe(Event.fromPartial({ eventId: 'n', sessionId: '_' })).kind).toBe('unsequenced');
  });
});
