/**
 * Proves the self-provisioned infrastructure is real: JetStream publish /
 * consume with de-duplication, KV create-if-absent and compare-and-set, and
 * mongoose CRUD including a unique-index violation — through the platform
 * helpers that services use.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AckPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { Schema, type Connection } from 'mongoose';
import { uniqueDbUrl, uniqueName } from '@tgbridge/testinfra';
import {
  connectNats,
  drainNats,
  ensureConsumer,
  ensureKv,
  ensureStream,
  headers,
  nanos,
  type NatsConnection,
} from '@tgbridge/platform/nats';
import { closeMongo, connectMongo, isDuplicateKeyError } from '@tgbridge/platform/mongo';
import {
  extractTraceContext,
  injectTraceHeaders,
  startTelemetry,
} from '@tgbridge/platform/telemetry';
import { HealthRegistry, mongoCheck, natsCheck } from '@tgbridge/platform/health';
import { trace, context, ROOT_CONTEXT, TraceFlags } from '@opentelemetry/api';

describe('NATS JetStream (real nats-server)', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;

  beforeAll(async () => {
    // registers the W3C propagator (no export, no auto-instrumentation)
    startTelemetry({ serviceName: 'infra-test', instrumentations: false });
    nc = await connectNats({ url: inject('natsUrl'), name: 'infra-test' });
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
  });
  afterAll(async () => {
    await drainNats(nc);
  });

  it('ensureStream and ensureConsumer are idempotent and update on change', async () => {
    const name = uniqueName('EVT');
    const config = {
      name,
      subjects: [`${name}.>`],
      duplicate_window: nanos(60_000),
      max_age: nanos(3_600_000),
    };
    const first = await ensureStream(jsm, config);
    const again = await ensureStream(jsm, config);
    expect(again.created).toBe(first.created);
    expect(again.config.subjects).toEqual([`${name}.>`]);
    const updated = await ensureStream(jsm, { ...config, max_age: nanos(7_200_000) });
    expect(updated.config.max_age).toBe(nanos(7_200_000));

    const consumer = {
      durable_name: 'worker',
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(30_000),
      max_deliver: 5,
    };
    const c1 = await ensureConsumer(jsm, name, consumer);
    const c2 = await ensureConsumer(jsm, name, consumer);
    expect(c2.created).toBe(c1.created);
    const c3 = await ensureConsumer(jsm, name, { ...consumer, max_deliver: 7 });
    expect(c3.config.max_deliver).toBe(7);
  });

  it('publishes with Nats-Msg-Id de-duplication and consumes with explicit ack, carrying traceparent', async () => {
    const name = uniqueName('EVT');
    await ensureStream(jsm, { name, subjects: [`${name}.>`], duplicate_window: nanos(60_000) });
    await ensureConsumer(jsm, name, { durable_name: 'worker', ack_policy: AckPolicy.Explicit });

    const spanContext = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
    };
    const ctx = trace.setSpanContext(ROOT_CONTEXT, spanContext);
    const h = injectTraceHeaders(headers(), ctx);
    const a1 = await js.publish(`${name}.a`, 'one', { msgID: 'evt-1', headers: h });
    const a2 = await js.publish(`${name}.a`, 'one again', { msgID: 'evt-1' });
    const a3 = await js.publish(`${name}.b`, 'two', { msgID: 'evt-2' });
    expect(a1.duplicate).toBe(false);
    expect(a2.duplicate).toBe(true);
    expect(a2.seq).toBe(a1.seq);
    expect(a3.seq).toBe(a1.seq + 1);

    const consumer = await js.consumers.get(name, 'worker');
    const got: string[] = [];
    const batch = await consumer.fetch({ max_messages: 10, expires: 2000 });
    for await (const m of batch) {
      got.push(m.string());
      if (m.seq === a1.seq) {
        const extracted = trace.getSpanContext(extractTraceContext(m.headers, context.active()));
        expect(extracted?.traceId).toBe(spanContext.traceId);
        expect(m.headers?.get('Nats-Msg-Id')).toBe('evt-1');
      }
      expect(await m.ackAck()).toBe(true); // ack confirmed by the server
      if (got.length === 2) break;
    }
    expect(got).toEqual(['one', 'two']);
    // acked → nothing redelivered
    const info = await consumer.info();
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
  });

  it('KV: create-if-absent and compare-and-set on the revision', async () => {
    const bucket = uniqueName('leases');
    const kv = await ensureKv(js, bucket, { ttl: 60_000, history: 1 });
    const again = await ensureKv(js, bucket, { ttl: 60_000, history: 1 });
    expect((await again.status()).ttl).toBe(60_000);

    const rev = await kv.create('session.1', 'shard-0');
    await expect(kv.create('session.1', 'shard-1')).rejects.toThrow();
    const rev2 = await kv.update('session.1', 'shard-0', rev);
    expect(rev2).toBeGreaterThan(rev);
    await expect(kv.update('session.1', 'shard-1', rev)).rejects.toThrow(); // stale revision
    expect((await kv.get('session.1'))?.string()).toBe('shard-0');

    const changed = await ensureKv(js, bucket, { ttl: 30_000, history: 1 });
    expect((await changed.status()).ttl).toBe(30_000);
  });

  it('health checks pass against the live connection', async () => {
    const health = new HealthRegistry().add('nats', natsCheck(nc));
    const report = await health.readiness();
    expect(report.status).toBe('ok');
    expect(report.checks.nats?.ok).toBe(true);
  });
});

describe('MongoDB-wire server via mongoose (real server)', () => {
  let conn: Connection;

  beforeAll(async () => {
    conn = await connectMongo({ url: uniqueDbUrl(inject('mongoUrl'), 'infra'), retries: 2 });
  });
  afterAll(async () => {
    await conn.dropDatabase().catch(() => {});
    await closeMongo(conn);
  });

  const sessionSchema = new Schema(
    {
      agentId: { type: String, required: true, unique: true },
      status: { type: String, required: true },
      updateState: { pts: Number, qts: Number, date: Number },
    },
    { timestamps: true },
  );

  it('creates, reads and updates documents', async () => {
    const Session = conn.model('Session', sessionSchema);
    await Session.init();
    const created = await Session.create({ agentId: 'a-1', status: 'pending' });
    const read = await Session.findById(created._id).lean();
    expect(read?.status).toBe('pending');

    const updated = await Session.findOneAndUpdate(
      { _id: created._id, status: 'pending' },
      { $set: { status: 'connected', updateState: { pts: 10, qts: 0, date: 1700000000 } } },
      { new: true },
    ).lean();
    expect(updated?.status).toBe('connected');
    expect(updated?.updateState?.pts).toBe(10);

    // compare-and-set on a stale status changes nothing
    const stale = await Session.updateOne(
      { _id: created._id, status: 'pending' },
      { $set: { status: 'expired' } },
    );
    expect(stale.modifiedCount).toBe(0);
    expect(await Session.countDocuments({ status: 'connected' })).toBe(1);
  });

  it('reports a unique-index violation as E11000 (code 11000)', async () => {
    const Session = conn.model('Session', sessionSchema);
    await Session.init();
    await Session.create({ agentId: 'dup', status: 'pending' });
    const err = await Session.create({ agentId: 'dup', status: 'pending' }).catch(
      (e: unknown) => e,
    );
    expect(isDuplicateKeyError(err)).toBe(true);
    expect((err as { code: number }).code).toBe(11000);
    expect(String((err as Error).message)).toMatch(/E11000/);
  });

  it('health check passes against the live connection', async () => {
    const report = await new HealthRegistry().add('mongo', mongoCheck(conn)).readiness();
    expect(report.checks.mongo).toMatchObject({ ok: true });
  });
});
