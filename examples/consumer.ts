/**
 * Example: an internal service consuming tgbridge events from JetStream
 * (docs/events.md, docs/asyncapi.yaml).
 *
 * A durable pull consumer on stream TG_EVENTS, filtered to one tenant
 * (`tg.evt.<tenant>.>`), explicit acks after processing; duplicates dropped by
 * `eventId`; gaps in a session's `sequence` reported. Run it against the local
 * stack:
 *
 *   NATS_URL=nats://127.0.0.1:4222 TENANT=acme npx tsx examples/consumer.ts
 */
import { connect } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';
import { context, propagation, ROOT_CONTEXT, type TextMapGetter } from '@opentelemetry/api';
import { Event } from '@tgbridge/proto/events/v1/events';
import { EVENTS_STREAM } from '@tgbridge/proto/subjects';

/** A hole in a session's sequence: `missing` events before `received` were not seen. */
export interface Gap {
  sessionId: string;
  /** The sequence number that was due (last seen + 1). */
  expected: bigint;
  /** The sequence number that arrived instead. */
  received: bigint;
  /** How many numbers were skipped (received - expected). */
  missing: bigint;
}

/** What {@link SessionSequences.observe} concluded about one event. */
export type Observation = 'first' | 'next' | 'gap' | 'older' | 'unsequenced';

/**
 * Per-session `sequence` bookkeeping, in memory (persist `last` with your own
 * state if gap detection must survive a restart). Sequences start at 1 and
 * grow by 1 per event of a session; events without one (the notifier's
 * operational events) are not tracked.
 */
export class SessionSequences {
  readonly #last = new Map<string, bigint>();

  /** Records `event` and classifies it. A gap is the caller's to report. */
  observe(event: Event): { kind: Observation; gap?: Gap } {
    if (!event.sequence || event.sequence === '0') return { kind: 'unsequenced' };
    const seq = BigInt(event.sequence);
    const last = this.#last.get(event.sessionId);
    if (last !== undefined && seq <= last) return { kind: 'older' };
    this.#last.set(event.sessionId, seq);
    if (last === undefined) return { kind: 'first' };
    if (seq === last + 1n) return { kind: 'next' };
    const expected = last + 1n;
    return {
      kind: 'gap',
      gap: { sessionId: event.sessionId, expected, received: seq, missing: seq - expected },
    };
  }
}

/** Recently seen event ids, oldest evicted first (at-least-once → de-duplicate). */
export class RecentIds {
  readonly #ids = new Set<string>();
  constructor(private readonly capacity = 100_000) {}

  /** True when `id` was seen before; otherwise remembers it. */
  seen(id: string): boolean {
    if (this.#ids.has(id)) return true;
    this.#ids.add(id);
    if (this.#ids.size > this.capacity) this.#ids.delete(this.#ids.values().next().value!);
    return false;
  }

  /** Forgets `id` (its processing failed; the redelivery must not count as a duplicate). */
  forget(id: string): void {
    this.#ids.delete(id);
  }
}

/** Reads W3C trace context (`traceparent`, `tracestate`) from a message's NATS headers. */
export const natsHeaderGetter: TextMapGetter<JsMsg> = {
  keys: (msg) => msg.headers?.keys() ?? [],
  get: (msg, key) => msg.headers?.get(key) || undefined,
};

/** Options of {@link consumeEvents}. */
export interface ConsumeOptions {
  /** Stream holding the events; default TG_EVENTS. */
  stream?: string;
  /** Durable consumer name: your service's; survives restarts, resumes where it left. */
  durable: string;
  /** Filter subject, e.g. `tg.evt.acme.>` or `tg.evt.*.*.*.new_message`. */
  filterSubject: string;
  /** Your processing. Throw to have the event redelivered (after `retryDelayMs`). */
  handle: (event: Event, msg: JsMsg) => Promise<void>;
  /** Called when a session's sequence jumps (events missed: re-sync that session). */
  onGap?: (gap: Gap, event: Event) => void;
  /** Redelivery delay after `handle` throws, ms; default 5000. */
  retryDelayMs?: number;
  /** Stops consuming when aborted. */
  signal?: AbortSignal;
}

/**
 * Creates the durable pull consumer when missing (explicit ack, all events
 * still in the stream on first start, 5 deliveries max, 30 s to ack).
 * Idempotent for the same settings. @throws when the stream does not exist,
 * or the durable exists with other settings (change it with `jsm.consumers.update`)
 */
export async function ensureConsumer(
  js: JetStreamClient,
  stream: string,
  durable: string,
  filterSubject: string,
): Promise<void> {
  const jsm = await js.jetstreamManager();
  await jsm.consumers.add(stream, {
    durable_name: durable,
    filter_subject: filterSubject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 30_000_000_000, // ns
    max_deliver: 5,
    max_ack_pending: 1_000,
  });
}

/**
 * Processes events one at a time, in stream order, until `signal` aborts:
 * parse (`Event.fromJSON`; unparsable → `term`), drop duplicates by `eventId`,
 * `handle` (inside the publisher's trace context), report a sequence gap, then
 * ack (waiting for the server's confirmation). A failing `handle` naks with a
 * delay. Resolves when stopped. @throws when the stream does not exist
 */
export async function consumeEvents(js: JetStreamClient, o: ConsumeOptions): Promise<void> {
  const stream = o.stream ?? EVENTS_STREAM;
  await ensureConsumer(js, stream, o.durable, o.filterSubject);
  const consumer = await js.consumers.get(stream, o.durable);
  const messages = await consumer.consume({ max_messages: 100 });
  const stop = () => void messages.stop();
  if (o.signal?.aborted) stop();
  o.signal?.addEventListener('abort', stop, { once: true });
  const sequences = new SessionSequences();
  const ids = new RecentIds();
  try {
    for await (const msg of messages) {
      let event: Event;
      try {
        event = Event.fromJSON(msg.json());
      } catch {
        msg.term('not an Event'); // never redeliver poison
        continue;
      }
      if (ids.seen(event.eventId)) {
        await msg.ackAck();
        continue;
      }
      try {
        // the publisher's trace continues here when an OpenTelemetry SDK is registered
        const parent = propagation.extract(ROOT_CONTEXT, msg, natsHeaderGetter);
        await context.with(parent, () => o.handle(event, msg));
      } catch {
        ids.forget(event.eventId);
        msg.nak(o.retryDelayMs ?? 5_000);
        continue;
      }
      const { gap } = sequences.observe(event);
      if (gap) o.onGap?.(gap, event);
      await msg.ackAck();
    }
  } finally {
    o.signal?.removeEventListener('abort', stop);
  }
}

async function main(): Promise<void> {
  const tenant = process.env.TENANT ?? 'acme';
  const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  await consumeEvents(jetstream(nc), {
    durable: process.env.DURABLE ?? `example-${tenant}`,
    filterSubject: `tg.evt.${tenant}.>`,
    signal: abort.signal,
    onGap: (gap) => console.warn(`gap in session ${gap.sessionId}: ${gap.missing} missing`),
    handle: async (e, msg) => {
      const traceparent = msg.headers?.get('traceparent');
      const what =
        e.payload?.$case === 'message' ? e.payload.value.message?.text : e.payload?.$case;
      console.log(`#${e.sequence} ${e.type} ${e.sessionId} ${what ?? ''} (${traceparent ?? '-'})`);
    },
  });
  await nc.drain();
}

if (process.argv[1]?.endsWith('consumer.ts')) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
