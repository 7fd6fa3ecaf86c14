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
import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
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
  /** Ack floor of the intake consumer after the batch. */
  floor: number;
  /** Lanes that received deliveries. */
  lanes: string[];
  /** Lease owner id of the sender (receivers skip their own notices). */
  from: string;
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
  partitions: number;
  c: Collections;
  endpoints: EndpointStore;
  engine: DeliveryEngine;
  metrics: NotifierMetrics;
  /** Subject of wake notices (WAKE_SUBJECT under NOTIFIER_SUBJECT_PREFIX). */
  wakeSubject: string;
  logger: Logger;
}

/** Reads the consumer's ack floor: every message up to it is acknowledged. */
export async function readAckFloor(
  js: JetStreamClient,
  stream: string,
  consumer: string,
): Promise<number> {
  const jsm = await js.jetstreamManager();
  const info = await jsm.consumers.info(stream, consumer);
  const floor = info.ack_floor.stream_seq;
  return info.num_ack_pending === 0 ? Math.max(floor, info.delivered.stream_seq) : floor;
}

/** The running intake loop. */
export class Intake {
  #messages: ConsumerMessages | undefined;
  #buffer: JsMsg[] = [];
  /** The batch being recorded. */
  #current: JsMsg[] = [];
  #heartbeat: NodeJS.Timeout | undefined;
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
      },
      Math.max(100, Math.floor(this.o.ackWaitMs / 3)),
    );
    this.#heartbeat.unref();
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
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    await this.#messages?.close().catch(() => undefined);
    await this.#chain;
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
    let fresh: QueueDoc[];
    try {
      fresh = await enqueue(this.o.c, items, pinned, recheck);
    } catch (err) {
      this.o.engine.offer([], pinned);
      throw err;
    }
    const t1 = performance.now();
    if (recheck.size > 0)
      this.o.logger.info(
        { deliveries: recheck.size, inserted: fresh.filter((i) => recheck.has(i._id)).length },
        'redelivered events recorded again (finished deliveries skipped)',
      );
    for (const m of bad) m.term();
    await Promise.all(good.map((m) => m.ackAck().catch(() => false)));
    const t2 = performance.now();
    const floor = await readAckFloor(this.o.js, this.o.stream, this.o.consumer).catch(() => 0);
    this.o.logger.debug(
      {
        messages: batch.length,
        deliveries: items.length,
        fresh: fresh.length,
        redelivered: recheck.size,
        enqueueMs: Math.round(t1 - t0),
        ackMs: Math.round(t2 - t1),
        floorMs: Math.round(performance.now() - t2),
      },
      'intake batch recorded',
    );
    this.o.engine.setFloor(floor);
    for (const span of spans) span.end();
    this.o.engine.offer(fresh, pinned);
    const lanes = [...new Set(items.map((i) => i.lane))];
    const notice: WakeNotice = { floor, lanes, from: this.o.engine.owner };
    this.o.nc.publish(this.o.wakeSubject, JSON.stringify(notice));
  }
}
