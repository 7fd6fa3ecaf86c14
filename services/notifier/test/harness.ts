/**
 * Test harness of the notifier: real NATS and MongoDB-wire (from the vitest
 * global setup), real HTTP receivers on 127.0.0.1, events published into
 * the events stream as canonical Event JSON, and the NATS API.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import pino from 'pino';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import type { SessionStatus } from '@tgbridge/proto/common/v1/common';
import { ChatType } from '@tgbridge/proto/common/v1/common';
import { Event } from '@tgbridge/proto/events/v1/events';
import { eventSubject } from '@tgbridge/proto/subjects';
import { uniqueDbUrl, uniqueName } from '@tgbridge/testinfra';
import { createNotifier, type Notifier } from '../src/app.js';
import { loadNotifierConfig, type NotifierConfig } from '../src/config.js';
import { deliveryId } from '../src/domain/matching.js';
import { ApiSubject } from '../src/handlers/subjects.js';
import type { QueueDoc } from '../src/infra/collections.js';

/** A random 32-byte keyring spec. */
export function keySpec(): string {
  return `k1:${randomBytes(32).toString('base64')}`;
}

/** A whsec_ secret. */
export function whsec(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** One request a receiver got. */
export interface Received {
  at: number;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: Record<string, unknown>;
}

/** What a receiver answers: status (+ headers, body), or 'hang' (never answers). */
export type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/** A webhook receiver on 127.0.0.1. */
export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Decides the answer per request (default 200). */
  reply: (r: Received) => Reply;
  close(): Promise<void>;
  /** Stops listening (connections refused) until start() is called again. */
  down(): Promise<void>;
  up(): Promise<void>;
}

/** Starts a receiver. */
export async function receiver(host = '127.0.0.1', port = 0): Promise<Receiver> {
  const hanging = new Set<ServerResponse>();
  const state: Receiver = {
    url: '',
    port: 0,
    received: [],
    reply: () => ({ status: 200 }),
    close: async () => {},
    down: async () => {},
    up: async () => {},
  };
  let server: Server;
  const listen = async (p: number) => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(body) as Record<string, unknown>;
        } catch {
          /* not json */
        }
        const r: Received = {
          at: Date.now(),
          path: req.url ?? '',
          headers: req.headers,
          body,
          json,
        };
        state.received.push(r);
        const reply = state.reply(r);
        if (reply === 'hang') {
          hanging.add(res);
          return;
        }
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      });
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(p, host, resolve));
    state.port = (server.address() as AddressInfo).port;
    state.url = `http://${host}:${state.port}`;
  };
  await listen(port);
  const stop = async () => {
    for (const res of hanging) res.destroy();
    hanging.clear();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  state.close = stop;
  state.down = stop;
  state.up = () => listen(state.port);
  return state;
}

/** Compressed test configuration (overridable). */
export function testEnv(over: Record<string, string> = {}): Record<string, string> {
  return {
    NATS_URL: process.env.NATS_URL ?? '',
    MONGO_URL: '',
    SESSION_ENCRYPTION_KEYS: keySpec(),
    METRICS_PORT: '0',
    LOG_LEVEL: process.env.NF_LOG ?? 'warn',
    EVENTS_STREAM: uniqueName('NFEVT'),
    DLQ_STREAM: uniqueName('NFDLQ'),
    NOTIFIER_CONSUMER: uniqueName('notifier'),
    NOTIFIER_SUBJECT_PREFIX: `tg.nftest.${randomBytes(4).toString('hex')}`,
    NOTIFIER_ACK_WAIT_MS: '2s',
    WEBHOOK_RETRY_SCHEDULE: '0,200ms,400ms,600ms',
    WEBHOOK_JITTER: '0.1',
    WEBHOOK_TIMEOUT_MS: '2s',
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    WEBHOOK_LEASE_MS: '3s',
    WEBHOOK_POLL_MS: '100ms',
    WEBHOOK_CIRCUIT_COOLDOWN_MS: '500ms',
    ...over,
  };
}

/** Parses a test environment into a config. */
export function configOf(env: Record<string, string>): NotifierConfig {
  return loadNotifierConfig(env);
}

/** Starts an in-process notifier. */
export async function startNotifier(env: Record<string, string>): Promise<Notifier> {
  const n = createNotifier(configOf(env), {
    logger: pino({ level: env.LOG_LEVEL ?? 'warn' }),
  });
  await n.start();
  return n;
}

/** A database URL for a test file. */
export function dbUrl(mongoUrl: string, prefix: string): string {
  return uniqueDbUrl(mongoUrl, prefix);
}

/** NATS client for publishing events and calling the API. */
export class Bus {
  /** API subject prefix of the notifier under test. */
  prefix = 'tg.notifier';

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
  ) {}

  static async open(url: string): Promise<Bus> {
    const nc = await connect({ servers: url });
    return new Bus(nc, jetstream(nc));
  }

  /**
   * Makes sure a stream captures the tenant's events: an existing stream
   * capturing them, else a narrow one (`tg.evt.<tenant>.>`) named `name`.
   */
  async ensureTenantStream(name: string, tenant: string): Promise<string> {
    const jsm = await jetstreamManager(this.nc);
    try {
      return await jsm.streams.find(`tg.evt.${tenant}.a.s.t`);
    } catch {
      await jsm.streams.add({ name, subjects: [`tg.evt.${tenant}.>`] });
      return name;
    }
  }

  /** Deletes a stream (ignoring errors). */
  async deleteStream(name: string): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    await jsm.streams.delete(name).catch(() => false);
  }

  /** Publishes an event (canonical JSON, Nats-Msg-Id, traceparent). @returns stream seq */
  async publish(e: Event, traceparent?: string): Promise<number> {
    const h = headers();
    if (traceparent) h.set('traceparent', traceparent);
    const ack = await this.js.publish(eventSubject(e), JSON.stringify(Event.toJSON(e)), {
      msgID: e.eventId,
      headers: h,
    });
    return ack.seq;
  }

  /** Calls the notifier API. */
  async api<T = Record<string, unknown>>(
    subject: string,
    body: Record<string, unknown>,
  ): Promise<T> {
    const msg = await this.nc.request(
      `${this.prefix}${subject.slice('tg.notifier'.length)}`,
      JSON.stringify(body),
      {
        timeout: 10_000,
      },
    );
    const reply = msg.json<T & { ok?: boolean }>();
    if (reply.ok === false && process.env.NF_DEBUG_API)
      console.log('API', subject, JSON.stringify(reply));
    return reply;
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

let seq = 0;

/** A new_message event (seed-000 shaped). */
export function messageEvent(o: {
  tenant: string;
  agent: string;
  session: string;
  sequence?: number;
  text?: string;
  type?: string;
}): Event {
  seq++;
  return Event.fromPartial({
    eventId: `evt_${randomUUID()}`,
    type: o.type ?? 'new_message',
    tenantId: o.tenant,
    agentId: o.agent,
    sessionId: o.session,
    occurredAt: new Date(),
    sequence: String(o.sequence ?? seq),
    payload: {
      $case: 'message',
      value: {
        message: {
          id: 123456 + seq,
          from: {
            id: '987654321',
            firstName: 'علی',
            lastName: 'محمدی',
            username: 'ali_m',
            phone: '+989123456789',
            isBot: false,
          },
          chat: { id: '987654321', type: ChatType.PRIVATE },
          text: o.text ?? 'سلام، می‌خوام محصولتون رو بخرم',
          date: new Date('2025-12-20T10:30:00Z'),
          entities: [],
          out: false,
        },
      },
    },
  });
}

/** A session event. */
export function sessionEvent(o: {
  tenant: string;
  agent: string;
  session: string;
  type: string;
  status: SessionStatus;
}): Event {
  return Event.fromPartial({
    eventId: `evt_${randomUUID()}`,
    type: o.type,
    tenantId: o.tenant,
    agentId: o.agent,
    sessionId: o.session,
    occurredAt: new Date(),
    sequence: '1',
    payload: { $case: 'session', value: { status: o.status, reason: 'network' } },
  });
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A short random id usable as a subject token. */
export function rid(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

/**
 * A delivery queue entry as intake writes it: a not yet attempted
 * `new_message` of endpoint `endpointId`, lane `lane`, stream sequence `streamSeq`.
 */
export function queueEntry(
  o: Pick<QueueDoc, 'endpointId' | 'lane' | 'eventId' | 'streamSeq'> & Partial<QueueDoc>,
): QueueDoc {
  const now = new Date();
  return {
    _id: deliveryId(o.endpointId, o.eventId),
    tenantId: 't',
    agentId: 'a',
    sessionId: 's1',
    eventType: 'new_message',
    body: '{}',
    traceparent: null,
    attempts: 0,
    dueAt: now,
    createdAt: now,
    lastStatusCode: null,
    lastError: null,
    trigger: 'event',
    attemptBase: 0,
    ...o,
  };
}

/**
 * The environment of notifiers that serve one tenant only: its own events
 * stream (or the suite's, when that already captures the tenant), the
 * consumer filtered to it, a database of their own; `bus` is pointed at
 * their API prefix.
 */
export async function tenantEnv(
  bus: Bus,
  o: { tenant: string; mongoUrl: string; dbPrefix: string; over?: Record<string, string> },
): Promise<Record<string, string>> {
  const env = testEnv({
    MONGO_URL: dbUrl(o.mongoUrl, o.dbPrefix),
    NOTIFIER_EVENTS_FILTER: `tg.evt.${o.tenant}.>`,
    ...o.over,
  });
  env.EVENTS_STREAM = await bus.ensureTenantStream(env.EVENTS_STREAM!, o.tenant);
  bus.prefix = env.NOTIFIER_SUBJECT_PREFIX!;
  return env;
}

/** What {@link tenantSuite} sets up, filled in before the file's tests run. */
export interface TenantSuite {
  bus: Bus;
  /** The receiver the tests point endpoints at. */
  r: Receiver;
  notifiers: Notifier[];
}

/**
 * Registers a test file's setup and teardown: a bus, a receiver and
 * `replicas` notifiers serving only `tenant` ({@link tenantEnv}).
 */
export function tenantSuite(o: {
  tenant: string;
  dbPrefix: string;
  replicas?: number;
  over?: Record<string, string>;
}): TenantSuite {
  const suite = { notifiers: [] as Notifier[] } as unknown as TenantSuite;
  let stream = '';
  beforeAll(async () => {
    suite.bus = await Bus.open(inject('natsUrl'));
    suite.r = await receiver();
    const env = await tenantEnv(suite.bus, { ...o, mongoUrl: inject('mongoUrl') });
    stream = env.EVENTS_STREAM!;
    for (let i = 0; i < (o.replicas ?? 1); i++) suite.notifiers.push(await startNotifier(env));
  }, 60_000);
  afterAll(async () => {
    for (const n of suite.notifiers) await n.stop();
    await suite.r?.close();
    if (stream.startsWith('NFEVT')) await suite.bus.deleteStream(stream);
    await suite.bus?.close();
  });
  return suite;
}

/** Creates an endpoint of `tenant` for `url` through the NATS API and expects it created. */
export async function createEndpoint(bus: Bus, tenant: string, url: string): Promise<void> {
  const created = await bus.api<{ ok: boolean }>(ApiSubject.EndpointsCreate, {
    tenant_id: tenant,
    url,
  });
  expect(created.ok).toBe(true);
}

/**
 * Waits (up to 30 s) until every event of `published` (session → event ids
 * in publish order) is in `delivered`, then expects each delivered once
 * and each session's in publish order.
 */
export async function expectDeliveredInOrder(
  delivered: string[],
  published: Map<string, string[]>,
): Promise<void> {
  const total = [...published.values()].reduce((n, ids) => n + ids.length, 0);
  await waitFor(() => new Set(delivered).size === total, 30_000, `all ${total} delivered`);
  await new Promise((res) => setTimeout(res, 500));
  expect(delivered).toHaveLength(total);
  for (const [session, ids] of published) {
    const mine = new Set(ids);
    expect(
      delivered.filter((id) => mine.has(id)),
      `order of session ${session}`,
    ).toEqual(ids);
  }
}
