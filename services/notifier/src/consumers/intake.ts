/**
 * Intake: the durable JetStream consumer on the events stream, shared by all
 * notifier replicas. For each batch (in stream order): parse the canonical
 * Event JSON, match endpoints, render the body once, record one queued
 * delivery per matching endpoint (`enqueue`), and only then acknowledge the
 * messages (double ack, so the consumer's ack floor is known to include
 * them). The new ack floor and the touched lanes are handed to the local
 * engine and announced on `tg.notifier.wake` for the other replicas.
 * Messages that are not valid events are terminated (logged, never retried).
 */
import type {
  Consumer,
  ConsumerMessages,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Event } from '@tgbridge/proto/events/v1/events';
import { laneId, deliveryId, matches } from '../domain/matching.js';
import { webhookBodyText } from '../domain/payload.js';
import type { Collections, QueueDoc } from '../infra/collections.js';
import type { EndpointStore } from '../infra/endpoints.js';
import { enqueue } from '../infra/queue.js';
import { startConsumeSpan, traceparentOf } from '../infra/tracing.js';
import type { Span } from '@opentelemetry/api';
import type { NotifierMetrics } from '../metrics.js';
import type { DeliveryEngine } from '../delivery/engine.js';

/** Core NATS subject on which replicas announce new work and the ack floor. */
export const WAKE_SUBJECT = 'tg.notifier.wake';

/** Body of a wake notice. */
export interface WakeNotice {
  /** Ack floor of the intake consumer read by the sender; 0 in a notice that only wakes lanes. */
  floor: number;
  /**
   * Lanes that got queued deliveries, sent before their messages are
   * acknowledged: a replica holding one reloads it before delivering past
   * its current floor there.
   */
  lanes: string[];
  /** Lease owner id of the sender (receivers skip their own notices). */
  from: string;
}

/**
 * Publishes a wake notice without a floor: the replicas holding `lanes`
 * reload them, the others claim them if free. Dropped quietly on a closed
 * connection (holders notice the lanes' change counters at their next
 * renewal).
 */
export function publishWake(
  nc: NatsConnection,
  subject: string,
  lanes: string[],
  from: string,
): void {
  const notice: WakeNotice = { floor: 0, lanes, from };
  try {
    nc.publish(subject, JSON.stringify(notice));
  } catch {
    // closed
  }
}

/** Options of {@link Intake}. */
export interface IntakeOptions {
  js: JetStreamClient;
  nc: NatsConnection;
  stream: string;
  consumer: string;
  batch: number;
  /**
   * The consumer's AckWait (ms): messages waiting in this process get a
   * progress signal every third of it, so a slow batch is not redelivered.
   */
  ackWaitMs: number;
  /**
   * Fast-path window (ms): deliveries to lanes this replica holds are
   * attempted before any queue entry is written, and their message is
   * acknowledged once they are recorded; those not finished within the
   * window get queue entries then. 0: every delivery is queued first.
   */
  fastPathMs: number;
  partitions: number;
  c: Collections;
  endpoints: EndpointStore;
  engine: DeliveryEngine;
  metrics: NotifierMetrics;
  /** Subject of wake notices (WAKE_SUBJECT under NOTIFIER_SUBJECT_PREFIX). */
  wakeSubject: string;
  logger: Logger;
}

/**
 * Least time between two floor notices of one replica (ms): each reads the
 * consumer's info from the server, which at 1,000 events/s in small batches
 * would otherwise happen hundreds of times a second.
 */
const ANNOUNCE_MIN_MS = 20;

/** One JetStream manager per client (creating one costs a round trip). */
const managers = new WeakMap<JetStreamClient, JetStreamManager>();

/** Reads the consumer's ack floor: every message up to it is acknowledged. */
export async function readAckFloor(
  js: JetStreamClient,
  stream: string,
  consumer: string,
): Promise<number> {
  let jsm = managers.get(js);
  if (!jsm) managers.set(js, (jsm = await js.jetstreamManager()));
  const info = await jsm.consumers.info(stream, consumer);
  const floor = info.ack_floor.stream_seq;
  return info.num_ack_pending === 0 ? Math.max(floor, info.delivered.stream_seq) : floor;
}

/**
 * Acknowledges `messages`: plain acks, then a double ack on the last one.
 * The server handles one connection's acks in order, so once the last is
 * confirmed the consumer's ack floor includes all of them (one round trip
 * per batch instead of one per message). A lost ack only means a
 * redelivery, which intake recognises.
 */
async function ackAll(messages: JsMsg[]): Promise<void> {
  const last = messages.at(-1);
  if (!last) return;
  for (const m of messages) if (m !== last) m.ack();
  await last.ackAck().catch(() => false);
}

/**
 * How long (ms) fast-path messages that became durable wait to be
 * acknowledged together. At 1,000 events/s nearly every message is its own
 * intake batch, and a double ack per batch was a NATS request per event
 * (timer, reply, and an Error the client builds for every finished
 * request); a few ms of delay cost nothing but a slightly later ack floor.
 */
const ACK_GROUP_MS = 5;

/**
 * Acknowledges messages in groups ({@link ackAll} once per group): those
 * handed in within {@link ACK_GROUP_MS} of the first. Each call resolves
 * once its group's double ack is answered (or failed: a lost ack only means
 * a redelivery).
 */
class AckGroups {
  #messages: JsMsg[] = [];
  #done: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;

  ack(messages: JsMsg[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    for (const m of messages) this.#messages.push(m);
    this.#timer ??= setTimeout(() => void this.flush(), ACK_GROUP_MS);
    return new Promise((resolve) => this.#done.push(resolve));
  }

  /** Acknowledges the current group now. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const messages = this.#messages;
    const done = this.#done;
    this.#messages = [];
    this.#done = [];
    await ackAll(messages);
    for (const resolve of done) resolve();
  }
}

/** The running intake loop. */
export class Intake {
  readonly #acks = new AckGroups();
  #messages: ConsumerMessages | undefined;
  #buffer: JsMsg[] = [];
  /** The batch being recorded. */
  #current: JsMsg[] = [];
  /**
   * Batches of messages whose fast-path deliveries are not durable yet (not
   * acknowledged). An array of batches rather than a Set of messages: see
   * DeliveryEngine#durable on long-lived Sets in the hot path.
   */
  readonly #waiting: JsMsg[][] = [];
  /** Fast-path batches in progress. */
  readonly #settling = new Set<Promise<void>>();
  /**
   * Every stream sequence ≤ this is acknowledged or being delivered by this
   * replica (the engine's floor); `#seen`: sequences above it known here.
   */
  #localFloor = 0;
  readonly #seen = new Set<number>();
  #heartbeat: NodeJS.Timeout | undefined;
  /** Floor notices ({@link #announce}): the timer of the next, and whether one is being sent. */
  #announceTimer: NodeJS.Timeout | undefined;
  #announcing = false;
  #announceAgain = false;
  #lastAnnounce = 0;
  #chain: Promise<void> = Promise.resolve();
  #scheduled = false;
  #running = false;
  #stopped = false;

  constructor(private readonly o: IntakeOptions) {}

  /** Starts consuming (and starts again should the pull subscription end unexpectedly). */
  async start(): Promise<void> {
    this.#heartbeat ??= setInterval(
      () => {
        for (const m of this.#current) m.working();
        for (const m of this.#buffer) m.working();
        for (const b of this.#waiting) for (const m of b) m.working();
      },
      Math.max(100, Math.floor(this.o.ackWaitMs / 3)),
    );
    this.#heartbeat.unref();
    this.noteAckFloor(await readAckFloor(this.o.js, this.o.stream, this.o.consumer));
    const consumer: Consumer = await this.o.js.consumers.get(this.o.stream, this.o.consumer);
    const messages = await consumer.consume({
      max_messages: this.o.batch,
      callback: (m) => {
        this.#buffer.push(m);
        if (this.#buffer.length >= this.o.batch) this.#kick();
        else if (!this.#scheduled) {
          this.#scheduled = true;
          setImmediate(() => this.#kick());
        }
      },
    });
    this.#messages = messages;
    void messages.closed().then((err) => {
      if (this.#stopped) return;
      this.o.logger.warn(
        { err: err instanceof Error ? err.message : undefined },
        'intake subscription ended; restarting',
      );
      setTimeout(() => void this.start().catch(() => {}), 1000);
    });
  }

  #kick(): void {
    this.#scheduled = false;
    if (this.#running || this.#buffer.length === 0) return;
    this.#running = true;
    // One loop drains the buffer: messages that arrive while a batch is being
    // recorded form the next (larger) batch, so intake keeps up under load.
    this.#chain = (async () => {
      try {
        while (this.#buffer.length > 0 && !this.#stopped) {
          const batch = this.#buffer.splice(0, this.o.batch);
          this.#current = batch;
          await this.#process(batch);
          this.#current = [];
        }
      } finally {
        this.#running = false;
      }
      if (this.#buffer.length > 0 && !this.#stopped) this.#kick();
    })();
  }

  /** Stops pulling; in-flight batches finish (unacked messages are redelivered to another replica). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#messages?.close().catch(() => undefined);
    await this.#chain;
  }

  /**
   * After {@link stop} and the engine's stop: waits (up to `timeoutMs`) for
   * fast-path batches to be recorded or queued and acknowledged.
   */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.#settling]),
      new Promise((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (this.#announceTimer) clearTimeout(this.#announceTimer);
    this.#announceTimer = undefined;
  }

  /** Raises the local floor to a known ack floor. */
  noteAckFloor(floor: number): void {
    if (this.#raiseFloor(floor)) this.#advance();
  }

  #raiseFloor(floor: number): boolean {
    if (floor <= this.#localFloor) return false;
    this.#localFloor = floor;
    for (const seq of this.#seen) if (seq <= floor) this.#seen.delete(seq);
    return true;
  }

  /** The local floor as it would be with `seqs` noted too (changes nothing). */
  #floorWith(seqs: number[]): number {
    const extra = new Set(seqs);
    let floor = Math.max(this.#localFloor, this.o.engine.floor);
    while (this.#seen.has(floor + 1) || extra.has(floor + 1)) floor++;
    return floor;
  }

  /** Notes sequences being handled here and hands the engine the new floor. */
  #note(seqs: number[]): void {
    for (const seq of seqs) if (seq > this.#localFloor) this.#seen.add(seq);
    this.#advance();
  }

  #advance(): void {
    // The engine may know a higher floor (other replicas' notices, its own reads).
    this.#raiseFloor(this.o.engine.floor);
    while (this.#seen.delete(this.#localFloor + 1)) this.#localFloor++;
    this.o.engine.setFloor(this.#localFloor);
  }

  async #process(batch: JsMsg[]): Promise<void> {
    if (this.#stopped) return;
    const log = this.o.logger;
    for (let retry = false; ; retry = true) {
      try {
        await this.#record(batch, retry);
        return;
      } catch (err) {
        log.error(
          { err: (err as Error).message, messages: batch.length },
          'recording events failed; retrying',
        );
        for (const m of batch) m.working();
        await new Promise((r) => setTimeout(r, 1000));
        if (this.#stopped) return;
      }
    }
  }

  /**
   * Records one batch. `retry`: this batch was being recorded before (its
   * deliveries may exist already, even finished ones).
   */
  async #record(batch: JsMsg[], retry: boolean): Promise<void> {
    const endpoints = await this.o.endpoints.all();
    const items: QueueDoc[] = [];
    const bad: JsMsg[] = [];
    const good: JsMsg[] = [];
    const now = new Date();
    const spans: Span[] = [];
    // Deliveries of messages seen before: checked against finished ones.
    const recheck = new Set<string>();
    for (const m of batch) {
      let e: Event;
      try {
        e = Event.fromJSON(m.json());
        if (!e.eventId || !e.type || !e.tenantId || !e.sessionId)
          throw new Error('missing envelope fields');
      } catch (err) {
        this.o.logger.warn(
          { subject: m.subject, seq: m.seq, err: (err as Error).message },
          'not a valid event; dropped',
        );
        this.o.metrics.events.inc({ outcome: 'invalid' });
        bad.push(m);
        continue;
      }
      good.push(m);
      const about =
        e.payload?.$case === 'exhausted'
          ? e.payload.value.endpointId
          : e.payload?.$case === 'endpointDisabled'
            ? e.payload.value.endpointId
            : undefined;
      const targets = endpoints.filter((ep) =>
        matches(ep, {
          type: e.type,
          tenantId: e.tenantId,
          agentId: e.agentId,
          aboutEndpointId: about,
        }),
      );
      this.o.metrics.events.inc({ outcome: targets.length > 0 ? 'recorded' : 'unmatched' });
      if (targets.length === 0) continue;
      const body = webhookBodyText(e);
      const span = startConsumeSpan(m.headers, m.subject);
      span.setAttribute('tgbridge.event_id', e.eventId);
      spans.push(span);
      const tp = traceparentOf(span, m.headers?.get('traceparent') || null);
      for (const ep of targets) {
        const id = deliveryId(ep.id, e.eventId);
        if (retry || m.redelivered) recheck.add(id);
        items.push({
          _id: id,
          lane: laneId(ep.id, e.sessionId, this.o.partitions),
          endpointId: ep.id,
          tenantId: e.tenantId,
          agentId: e.agentId,
          sessionId: e.sessionId,
          eventId: e.eventId,
          eventType: e.type,
          streamSeq: m.seq,
          body,
          traceparent: tp,
          attempts: 0,
          dueAt: now,
          createdAt: now,
          lastStatusCode: null,
          lastError: null,
          trigger: 'event',
          attemptBase: 0,
        });
      }
    }
    const t0 = performance.now();
    const pinned = this.o.engine.pin(new Set(items.map((i) => i.lane)));
    // The floor moves past this batch only once all of it is in the lanes
    // (below): earlier-queued later events must not overtake it meanwhile.
    const seqs = batch.map((m) => m.seq);
    const upTo = this.#floorWith(seqs);
    // Fast path: first deliveries to lanes held here that can go at once:
    // every earlier stream message is acknowledged or handled here (past a
    // gap — another replica's message, another consumer's subject — the
    // floor would hold them, so they are queued as before); not for
    // redelivered messages, whose deliveries may have finished before.
    // A lane that also gets queued deliveries in this batch takes none
    // fast (they could overtake an earlier queued one of the same session).
    const fastOk = this.o.fastPathMs > 0 && !this.#stopped;
    const eligible = (i: QueueDoc) =>
      fastOk && pinned.has(i.lane) && !recheck.has(i._id) && i.streamSeq <= upTo;
    const queuedLanes = new Set(items.filter((i) => !eligible(i)).map((i) => i.lane));
    // Handed over before any await, while the pinned lanes are certainly held.
    const tracked = this.o.engine.offer(
      [],
      new Set(),
      items.filter((i) => eligible(i) && !queuedLanes.has(i.lane)),
    );
    const fastSet = new Set(tracked.keys());
    const fastItems = items.filter((i) => fastSet.has(i._id));
    let fresh: QueueDoc[];
    try {
      fresh = await enqueue(
        this.o.c,
        items.filter((i) => !fastSet.has(i._id)),
        pinned,
        recheck,
      );
    } catch (err) {
      this.o.engine.offer([], pinned);
      throw err;
    }
    this.o.engine.offer(fresh, pinned);
    this.#note(seqs);
    const t1 = performance.now();
    if (recheck.size > 0)
      this.o.logger.info(
        { deliveries: recheck.size, inserted: fresh.filter((i) => recheck.has(i._id)).length },
        'redelivered events recorded again (finished deliveries skipped)',
      );
    for (const m of bad) m.term();
    // Messages with fast-path deliveries wait for them; the rest are acknowledged now.
    const fastSeqs = new Set(fastItems.map((i) => i.streamSeq));
    const ackNow = good.filter((m) => !fastSeqs.has(m.seq));
    const later = good.filter((m) => fastSeqs.has(m.seq));
    const slowLanes = [...new Set(fresh.map((i) => i.lane))];
    // Before the acks: a replica holding one of these lanes holds back its
    // later deliveries there until it has loaded these (see engine.wake).
    if (slowLanes.length > 0) this.#wake(slowLanes);
    await ackAll(ackNow);
    for (const span of spans) span.end();
    const t2 = performance.now();
    if (later.length > 0) this.#track(this.#settle(later, tracked));
    this.o.logger.debug(
      {
        messages: batch.length,
        deliveries: items.length,
        fast: tracked.size,
        fresh: fresh.length,
        redelivered: recheck.size,
        enqueueMs: Math.round(t1 - t0),
        ackMs: Math.round(t2 - t1),
      },
      'intake batch recorded',
    );
    if (ackNow.length > 0) this.#announce();
  }

  #track(p: Promise<void>): void {
    this.#settling.add(p);
    void p.finally(() => this.#settling.delete(p));
  }

  /** Wakes the holders of `lanes` at once (also while stopping). */
  #wake(lanes: string[]): void {
    publishWake(this.o.nc, this.o.wakeSubject, lanes, this.o.engine.owner);
  }

  /**
   * Asks for a floor notice: the ack floor read from the server, sent to
   * the other replicas. Coalesced: one read at a time, at most one per
   * {@link ANNOUNCE_MIN_MS}. A floor read late is only lower than it could
   * be, which keeps ordering safe (later deliveries wait a little longer).
   */
  #announce(): void {
    if (this.#announcing) {
      this.#announceAgain = true;
      return;
    }
    if (this.#announceTimer || this.#stopped) return;
    const wait = Math.max(0, this.#lastAnnounce + ANNOUNCE_MIN_MS - Date.now());
    this.#announceTimer = setTimeout(() => {
      this.#announceTimer = undefined;
      void this.#announceNow();
    }, wait);
  }

  async #announceNow(): Promise<void> {
    this.#announcing = true;
    try {
      const floor = await readAckFloor(this.o.js, this.o.stream, this.o.consumer).catch(() => 0);
      this.noteAckFloor(floor);
      const notice: WakeNotice = { floor, lanes: [], from: this.o.engine.owner };
      this.o.nc.publish(this.o.wakeSubject, JSON.stringify(notice));
    } catch {
      // the connection is closing: the next notice carries the floor
    } finally {
      this.#lastAnnounce = Date.now();
      this.#announcing = false;
      if (this.#announceAgain) {
        this.#announceAgain = false;
        this.#announce();
      }
    }
  }

  /**
   * Waits for the fast-path deliveries of `messages` to become durable;
   * after the fast-path window, the unfinished ones are queued. Then acknowledges the messages.
   * Never throws: on MongoDB errors it retries while the messages are kept
   * alive; stopping gives up (the messages are redelivered).
   */
  async #settle(messages: JsMsg[], tracked: Map<string, Promise<void>>): Promise<void> {
    this.#waiting.push(messages);
    try {
      const all = Promise.all(tracked.values());
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        all.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.o.fastPathMs))),
      ]);
      clearTimeout(timer);
      // Gave up while stopping: not acknowledged, so redelivered elsewhere.
      if (!inTime && !(await this.o.engine.queueFast(tracked.keys()))) return;
      await all;
      await this.#acks.ack(messages);
      this.#announce();
    } finally {
      const at = this.#waiting.indexOf(messages);
      if (at >= 0) this.#waiting.splice(at, 1);
    }
  }
}
