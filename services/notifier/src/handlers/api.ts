/**
 * Handlers of the NATS request/reply API (subjects in ./subjects.ts). Every
 * request carries `tenant_id` (from the gateway's principal) and may carry
 * `admin: true`; everything is scoped to that tenant. The default endpoint
 * (tenant `*`) is visible to admins; its deliveries and attempts of a
 * tenant's events are visible to that tenant.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Filter } from 'mongodb';
import type { Logger } from 'pino';
import { ALL_TENANTS, laneId } from '../domain/matching.js';
import { isValidSecret } from '../domain/signing.js';
import type { DeliveryEngine } from '../delivery/engine.js';
import type {
  AttemptDoc,
  Collections,
  DeliveryDoc,
  EndpointDoc,
  QueueDoc,
} from '../infra/collections.js';
import type { EndpointStore } from '../infra/endpoints.js';
import { checkTargetUrl, type TargetPolicy } from '../infra/http-client.js';
import { laneLocks } from '../infra/lane-locks.js';
import { doneMarks, enqueue } from '../infra/queue.js';
import { publishWake, WAKE_SUBJECT } from '../consumers/intake.js';
import { API_QUEUE, ApiSubject, CHANGED_SUBJECT, withPrefix } from './subjects.js';
import { attemptView, decodeCursor, deliveryView, encodeCursor, endpointView } from './views.js';

/** A failed API call: HTTP-like status, stable code, safe text. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Dependencies of the API. */
export interface ApiDeps {
  nc: NatsConnection;
  c: Collections;
  endpoints: EndpointStore;
  engine: DeliveryEngine;
  policy: TargetPolicy;
  partitions: number;
  rotationGraceMs: number;
  /** NOTIFIER_SUBJECT_PREFIX. */
  prefix: string;
  logger: Logger;
}

type Req = Record<string, unknown>;
type Handler = (req: Req, tenant: string, admin: boolean) => Promise<Record<string, unknown>>;

const MAX_LIMIT = 200;
const EVENT_TYPE_RE = /^[a-z][a-z0-9_]{0,63}$/;
const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

function str(
  req: Req,
  key: string,
  opts: { optional?: boolean; max?: number } = {},
): string | undefined {
  const v = req[key];
  if (v === undefined || v === null) {
    if (opts.optional) return undefined;
    throw new ApiError(400, 'INVALID_ARGUMENT', `${key} is required`);
  }
  if (typeof v !== 'string') throw new ApiError(400, 'INVALID_ARGUMENT', `${key} must be a string`);
  if (v.length > (opts.max ?? 2048))
    throw new ApiError(400, 'INVALID_ARGUMENT', `${key} is too long`);
  return v;
}

function strList(req: Req, key: string, re: RegExp): string[] | undefined {
  const v = req[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length > 100 || v.some((x) => typeof x !== 'string' || !re.test(x))) {
    throw new ApiError(
      400,
      'INVALID_ARGUMENT',
      `${key} must be a list of at most 100 ids (${re.source})`,
    );
  }
  return [...new Set(v as string[])];
}

function limitOf(req: Req): number {
  const raw = req.limit;
  if (raw === undefined || raw === null || raw === '') return 50;
  const v = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new ApiError(400, 'INVALID_ARGUMENT', 'limit must be a positive integer');
  }
  return Math.min(v, MAX_LIMIT);
}

function dateOf(req: Req, key: string, optional = false): Date | undefined {
  const v = str(req, key, { optional });
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new ApiError(400, 'INVALID_ARGUMENT', `${key} must be an RFC 3339 date-time`);
  return new Date(t);
}

/** Builds the handler table. Exported for tests. */
export function apiHandlers(d: ApiDeps): Record<ApiSubject, Handler> {
  const { c } = d;

  const changed = async (endpointId: string) => {
    await d.endpoints.reload();
    d.nc.publish(
      withPrefix(CHANGED_SUBJECT, d.prefix),
      JSON.stringify({ endpoint_id: endpointId }),
    );
  };

  const wakeEndpointLanes = async (endpointId: string) => {
    const lanes = Array.from({ length: d.partitions }, (_, i) => `${endpointId}:${i}`);
    await laneLocks(c.lanes).run(lanes, () =>
      c.lanes.updateMany({ _id: { $in: lanes } }, { $set: { dueAt: new Date() } }),
    );
    d.engine.wake(lanes);
    publishWake(d.nc, withPrefix(WAKE_SUBJECT, d.prefix), lanes, d.engine.owner);
  };

  const ownEndpoint = async (
    req: Req,
    tenant: string,
    admin: boolean,
    allowDefault = false,
  ): Promise<EndpointDoc> => {
    const id = str(req, 'id') ?? '';
    const doc = ID_RE.test(id) ? await c.endpoints.findOne({ _id: id }) : null;
    const visible =
      doc && (doc.tenantId === tenant || (doc.tenantId === ALL_TENANTS && (admin || allowDefault)));
    if (!doc || !visible)
      throw new ApiError(404, 'ENDPOINT_NOT_FOUND', 'webhook endpoint not found');
    return doc;
  };

  const checkUrl = (url: string) => {
    const problem = checkTargetUrl(url, d.policy);
    if (problem) throw new ApiError(400, 'URL_NOT_ALLOWED', `url refused: ${problem}`);
  };

  const requeue = async (docs: DeliveryDoc[]): Promise<QueueDoc[]> => {
    const now = new Date();
    const items: QueueDoc[] = docs.map((x) => {
      const { status: _s, completedAt: _c, ...rest } = x;
      return {
        ...rest,
        lane: laneId(x.endpointId, x.sessionId, d.partitions),
        dueAt: now,
        trigger: 'replay',
        attemptBase: x.attempts,
      };
    });
    // A finished entry may still sit in the queue until swept: replace it.
    const ids = items.map((i) => i._id);
    await c.done.deleteMany({ _id: { $in: ids } });
    for (const it of items) await c.queue.replaceOne({ _id: it._id }, it, { upsert: true });
    await enqueue(c, items);
    await c.deliveries.deleteMany({ _id: { $in: ids } });
    const lanes = [...new Set(items.map((i) => i.lane))];
    d.engine.wake(lanes);
    publishWake(d.nc, withPrefix(WAKE_SUBJECT, d.prefix), lanes, d.engine.owner);
    return items;
  };

  /** Deliveries or attempts scope filter from the request (endpoint, event, delivery). */
  const scope = async (
    req: Req,
    tenant: string,
    admin: boolean,
  ): Promise<Record<string, unknown>> => {
    const f: Record<string, unknown> = {};
    const endpointId = str(req, 'endpoint_id', { optional: true });
    const eventId = str(req, 'event_id', { optional: true, max: 128 });
    const deliveryId = str(req, 'delivery_id', { optional: true, max: 300 });
    if (endpointId !== undefined) {
      await ownEndpoint({ id: endpointId }, tenant, admin, true);
      f.endpointId = endpointId;
    }
    if (eventId !== undefined) f.eventId = eventId;
    if (deliveryId !== undefined) f.deliveryId = deliveryId;
    if (endpointId === undefined && eventId === undefined && deliveryId === undefined) {
      throw new ApiError(
        400,
        'INVALID_ARGUMENT',
        'one of endpoint_id, event_id, delivery_id is required',
      );
    }
    f.tenantId = tenant;
    return f;
  };

  const page = (cursorField: 'createdAt' | 'at', req: Req): Record<string, unknown> => {
    const cur = decodeCursor(req.cursor);
    if (!cur) return {};
    return {
      $or: [{ [cursorField]: { $lt: cur.t } }, { [cursorField]: cur.t, _id: { $lt: cur.id } }],
    };
  };

  return {
    [ApiSubject.EndpointsCreate]: async (req, tenant) => {
      const url = str(req, 'url') ?? '';
      checkUrl(url);
      if (url.includes('{agent_id}') === false && /[{}]/.test(url)) {
        throw new ApiError(
          400,
          'INVALID_ARGUMENT',
          'url may contain only the {agent_id} placeholder',
        );
      }
      const secret = str(req, 'secret', { optional: true });
      if (secret !== undefined && !isValidSecret(secret)) {
        throw new ApiError(
          400,
          'INVALID_ARGUMENT',
          'secret must be whsec_ + base64 of 24..64 bytes',
        );
      }
      const enabled = req.enabled === undefined ? true : req.enabled === true;
      const { doc, secret: plain } = await d.endpoints.create({
        tenantId: tenant,
        url,
        description: str(req, 'description', { optional: true, max: 500 }),
        eventTypes: strList(req, 'event_types', EVENT_TYPE_RE),
        agentIds: strList(req, 'agent_ids', ID_RE),
        enabled,
        secret,
      });
      await changed(doc._id);
      return { endpoint: endpointView(doc), secret: plain };
    },

    [ApiSubject.EndpointsList]: async (req, tenant, admin) => {
      const limit = limitOf(req);
      const tenants = admin ? [tenant, ALL_TENANTS] : [tenant];
      const filter = {
        tenantId: { $in: tenants },
        ...page('createdAt', req),
      } as Filter<EndpointDoc>;
      const docs = await c.endpoints
        .find(filter)
        .sort({ createdAt: -1, _id: -1 })
        .limit(limit + 1)
        .toArray();
      const more = docs.length > limit;
      const shown = docs.slice(0, limit);
      const last = shown.at(-1);
      return {
        endpoints: shown.map((x) => endpointView(x)),
        next_cursor: more && last ? encodeCursor(last.createdAt, last._id) : null,
      };
    },

    [ApiSubject.EndpointsGet]: async (req, tenant, admin) => ({
      endpoint: endpointView(await ownEndpoint(req, tenant, admin)),
    }),

    [ApiSubject.EndpointsUpdate]: async (req, tenant, admin) => {
      const doc = await ownEndpoint(req, tenant, admin);
      if (doc.tenantId === ALL_TENANTS && req.url !== undefined) {
        throw new ApiError(
          409,
          'DEFAULT_ENDPOINT_READ_ONLY',
          'the default endpoint url comes from LARAVEL_BASE_URL',
        );
      }
      const set: Partial<EndpointDoc> = { updatedAt: new Date() };
      const url = str(req, 'url', { optional: true });
      if (url !== undefined) {
        checkUrl(url);
        set.url = url;
      }
      const description = str(req, 'description', { optional: true, max: 500 });
      if (description !== undefined) set.description = description;
      const eventTypes = strList(req, 'event_types', EVENT_TYPE_RE);
      if (eventTypes) set.eventTypes = eventTypes;
      const agentIds = strList(req, 'agent_ids', ID_RE);
      if (agentIds) set.agentIds = agentIds;
      let enabling = false;
      if (req.enabled !== undefined) {
        if (typeof req.enabled !== 'boolean')
          throw new ApiError(400, 'INVALID_ARGUMENT', 'enabled must be a boolean');
        set.enabled = req.enabled;
        if (req.enabled) {
          enabling = !doc.enabled;
          set.disabledReason = null;
          set.failingSince = null;
        }
      }
      await c.endpoints.updateOne({ _id: doc._id }, { $set: set });
      await changed(doc._id);
      if (enabling) await wakeEndpointLanes(doc._id);
      const updated = await c.endpoints.findOne({ _id: doc._id });
      return { endpoint: endpointView(updated!) };
    },

    [ApiSubject.EndpointsDelete]: async (req, tenant) => {
      const doc = await ownEndpoint(req, tenant, false);
      await c.endpoints.deleteOne({ _id: doc._id });
      await c.queue.deleteMany({ endpointId: doc._id });
      await c.lanes.deleteMany({ endpointId: doc._id });
      const idPattern = doc._id.replace(/[^A-Za-z0-9_-]/g, '\\$&');
      await c.laneClaims.deleteMany({ _id: { $regex: `^${idPattern}:\\d+#` } });
      await changed(doc._id);
      return { deleted: true, id: doc._id };
    },

    [ApiSubject.EndpointsRotate]: async (req, tenant, admin) => {
      const doc = await ownEndpoint(req, tenant, admin);
      const grace = req.grace_ms === undefined ? d.rotationGraceMs : req.grace_ms;
      if (
        typeof grace !== 'number' ||
        !Number.isInteger(grace) ||
        grace < 0 ||
        grace > 30 * 86_400_000
      ) {
        throw new ApiError(400, 'INVALID_ARGUMENT', 'grace_ms must be an integer 0..2592000000');
      }
      const secret = await d.endpoints.rotate(doc, grace);
      await changed(doc._id);
      const updated = await c.endpoints.findOne({ _id: doc._id });
      return { endpoint: endpointView(updated!), secret };
    },

    [ApiSubject.EndpointsRecover]: async (req, tenant, admin) => {
      const doc = await ownEndpoint(req, tenant, admin, true);
      const since = dateOf(req, 'since')!;
      const until = dateOf(req, 'until', true) ?? new Date();
      if (!doc.enabled)
        throw new ApiError(409, 'ENDPOINT_DISABLED', 'enable the endpoint before recovering');
      const failed = await c.deliveries
        .find({
          endpointId: doc._id,
          tenantId: tenant,
          status: 'failed',
          completedAt: { $gte: since, $lte: until },
        })
        .limit(10_000)
        .toArray();
      const items = await requeue(failed);
      return { replayed: items.length, delivery_ids: items.slice(0, 100).map((i) => i._id) };
    },

    [ApiSubject.DeliveriesList]: async (req, tenant, admin) => {
      const f = await scope(req, tenant, admin);
      delete f.deliveryId;
      const status = str(req, 'status', { optional: true });
      if (status !== undefined && !['pending', 'delivered', 'failed', 'aborted'].includes(status)) {
        throw new ApiError(
          400,
          'INVALID_ARGUMENT',
          'status must be pending, delivered, failed or aborted',
        );
      }
      const limit = limitOf(req);
      const filter = { ...f, ...page('createdAt', req) };
      const queuedRaw =
        status === undefined || status === 'pending'
          ? await c.queue
              .find(filter as Filter<QueueDoc>)
              .sort({ createdAt: -1, _id: -1 })
              .limit(limit + 1)
              .toArray()
          : [];
      // finished entries not swept from the queue yet are not pending
      const marks = await doneMarks(
        c,
        queuedRaw.map((q) => q._id),
      );
      const queued = queuedRaw.filter((q) => !((marks.get(q._id) ?? -1) > q.attempts));
      const finished =
        status !== 'pending'
          ? await c.deliveries
              .find({ ...filter, ...(status ? { status } : {}) } as Filter<DeliveryDoc>)
              .sort({ createdAt: -1, _id: -1 })
              .limit(limit + 1)
              .toArray()
          : [];
      const all = [...queued, ...finished].sort(
        (a, b) =>
          b.createdAt.getTime() - a.createdAt.getTime() ||
          (a._id < b._id ? 1 : a._id > b._id ? -1 : 0),
      );
      const shown = all.slice(0, limit);
      const last = shown.at(-1);
      return {
        deliveries: shown.map(deliveryView),
        next_cursor: all.length > limit && last ? encodeCursor(last.createdAt, last._id) : null,
      };
    },

    [ApiSubject.DeliveriesGet]: async (req, tenant) => {
      const id = str(req, 'id', { max: 300 })!;
      const finishedDoc = await c.deliveries.findOne({ _id: id, tenantId: tenant });
      const doc = finishedDoc ?? (await c.queue.findOne({ _id: id, tenantId: tenant }));
      if (!doc) throw new ApiError(404, 'DELIVERY_NOT_FOUND', 'delivery not found');
      const attempts = await c.attempts
        .find({ deliveryId: id, tenantId: tenant })
        .sort({ at: 1 })
        .limit(200)
        .toArray();
      return { delivery: deliveryView(doc), attempts: attempts.map(attemptView) };
    },

    [ApiSubject.DeliveriesReplay]: async (req, tenant) => {
      const id = str(req, 'id', { max: 300 })!;
      const endpointId = str(req, 'endpoint_id', { optional: true });
      const doc = await c.deliveries.findOne({ _id: id, tenantId: tenant });
      const queued = await c.queue.findOne({ _id: id, tenantId: tenant });
      // A finished entry may linger in the queue until swept; it has fewer attempts than the record.
      if (queued && (!doc || doc.attempts <= queued.attempts)) {
        throw new ApiError(
          409,
          'DELIVERY_PENDING',
          'delivery is still pending; it will be attempted again',
        );
      }
      if (!doc || (endpointId !== undefined && doc.endpointId !== endpointId)) {
        throw new ApiError(404, 'DELIVERY_NOT_FOUND', 'delivery not found');
      }
      const ep = await c.endpoints.findOne({ _id: doc.endpointId });
      if (!ep) throw new ApiError(404, 'ENDPOINT_NOT_FOUND', 'webhook endpoint not found');
      if (!ep.enabled)
        throw new ApiError(409, 'ENDPOINT_DISABLED', 'enable the endpoint before replaying');
      const [item] = await requeue([doc]);
      return { delivery: deliveryView(item!) };
    },

    [ApiSubject.AttemptsList]: async (req, tenant, admin) => {
      const f = await scope(req, tenant, admin);
      const limit = limitOf(req);
      const cur = decodeCursor(req.cursor);
      const filter = {
        ...f,
        ...(cur ? { $or: [{ at: { $lt: cur.t } }, { at: cur.t, _id: { $lt: cur.id } }] } : {}),
      } as Filter<AttemptDoc>;
      const docs = await c.attempts
        .find(filter)
        .sort({ at: -1, _id: -1 })
        .limit(limit + 1)
        .toArray();
      const shown = docs.slice(0, limit);
      const last = shown.at(-1);
      return {
        attempts: shown.map(attemptView),
        next_cursor: docs.length > limit && last ? encodeCursor(last.at, last._id) : null,
      };
    },
  };
}

/**
 * Subscribes every API subject (queue group `notifier`).
 * @returns the subscriptions (unsubscribe / drain on stop)
 */
export function serveApi(d: ApiDeps): Subscription[] {
  const handlers = apiHandlers(d);
  return Object.entries(handlers).map(([subject, handler]) =>
    d.nc.subscribe(withPrefix(subject, d.prefix), {
      queue: API_QUEUE,
      callback: (err, msg) => {
        if (err) return;
        void (async () => {
          let reply: Record<string, unknown>;
          try {
            const req = (msg.data.length > 0 ? msg.json() : {}) as Req;
            const tenant = typeof req.tenant_id === 'string' ? req.tenant_id : '';
            if (!ID_RE.test(tenant))
              throw new ApiError(400, 'INVALID_ARGUMENT', 'tenant_id is required');
            reply = { ok: true, ...(await handler(req, tenant, req.admin === true)) };
          } catch (e) {
            if (e instanceof ApiError)
              reply = { ok: false, status: e.status, code: e.code, error: e.message };
            else {
              d.logger.error({ subject, err: (e as Error).message }, 'notifier API call failed');
              reply = { ok: false, status: 500, code: 'INTERNAL', error: 'internal error' };
            }
          }
          msg.respond(JSON.stringify(reply));
        })();
      },
    }),
  );
}
