/**
 * Webhook endpoints: storage (secrets sealed with the platform keyring,
 * AAD = endpoint id), an in-memory cache for matching (reloaded every few
 * seconds and on change notices), and the seed-000 default endpoint, which
 * is written from configuration at start.
 */
import { randomBytes } from 'node:crypto';
import type { Keyring } from '@tgbridge/platform/crypto';
import type { Collections, EndpointDoc } from './collections.js';
import { ALL_TENANTS } from '../domain/matching.js';
import { generateSecret } from '../domain/signing.js';

/** Id of the seed-000 default endpoint. */
export const DEFAULT_ENDPOINT_ID = 'default';

/** Seed 000: `{LARAVEL_BASE_URL}/api/webhooks/telegram/{agent_id}`. */
export function defaultEndpointUrl(base: string): string {
  return `${base.replace(/\/+$/, '')}/api/webhooks/telegram/{agent_id}`;
}

/** An endpoint as the delivery engine uses it (secrets opened). */
export interface LiveEndpoint {
  id: string;
  tenantId: string;
  url: string;
  enabled: boolean;
  eventTypes: string[];
  agentIds: string[];
  /** Plain `whsec_` secrets valid now, newest first. */
  secrets: string[];
  /** Plain Bearer token, if any. */
  bearer: string | null;
  failingSince: Date | null;
}

/** Endpoint storage and cache. */
export class EndpointStore {
  #cache = new Map<string, LiveEndpoint>();
  #loadedAt = 0;
  #loading: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  /** The reload asked for by the latest change notice, until it finished. */
  #changing: Promise<void> | undefined;

  constructor(
    private readonly c: Collections,
    private readonly keyring: Keyring,
    private readonly refreshMs = 5_000,
  ) {}

  /** Seals a secret for endpoint `id`. */
  seal(id: string, plain: string): string {
    return this.keyring.seal(plain, `webhook:${id}`);
  }

  /** Opens a sealed secret of endpoint `id`. @throws DecryptionError */
  open(id: string, sealed: string): string {
    return this.keyring.open(sealed, `webhook:${id}`);
  }

  /** A new endpoint id `ep_<24 hex>`. */
  static newId(): string {
    return `ep_${randomBytes(12).toString('hex')}`;
  }

  /** Writes (or updates) the default endpoint from configuration; removes it when unset. */
  async syncDefault(cfg: {
    baseUrl?: string;
    bearer?: string;
    signingSecret?: string;
  }): Promise<void> {
    if (!cfg.baseUrl) {
      await this.c.endpoints.deleteOne({ _id: DEFAULT_ENDPOINT_ID });
      return;
    }
    const now = new Date();
    const existing = await this.c.endpoints.findOne({ _id: DEFAULT_ENDPOINT_ID });
    const set: Partial<EndpointDoc> = {
      tenantId: ALL_TENANTS,
      url: defaultEndpointUrl(cfg.baseUrl),
      description: 'seed 000 default endpoint (LARAVEL_BASE_URL)',
      bearerSealed: cfg.bearer ? this.seal(DEFAULT_ENDPOINT_ID, cfg.bearer) : null,
      secrets: cfg.signingSecret
        ? [
            {
              sealed: this.seal(DEFAULT_ENDPOINT_ID, cfg.signingSecret),
              createdAt: now,
              expiresAt: null,
            },
          ]
        : [],
      updatedAt: now,
    };
    if (!existing) {
      await this.c.endpoints.insertOne({
        _id: DEFAULT_ENDPOINT_ID,
        eventTypes: [],
        agentIds: [],
        enabled: true,
        disabledReason: null,
        failingSince: null,
        createdAt: now,
        ...(set as Omit<
          EndpointDoc,
          | '_id'
          | 'eventTypes'
          | 'agentIds'
          | 'enabled'
          | 'disabledReason'
          | 'failingSince'
          | 'createdAt'
        >),
      });
    } else {
      await this.c.endpoints.updateOne({ _id: DEFAULT_ENDPOINT_ID }, { $set: set });
    }
    await this.reload();
  }

  /** Creates an endpoint; returns the document and the plain secret (shown once). */
  async create(input: {
    tenantId: string;
    url: string;
    description?: string;
    eventTypes?: string[];
    agentIds?: string[];
    enabled?: boolean;
    secret?: string;
  }): Promise<{ doc: EndpointDoc; secret: string }> {
    const id = EndpointStore.newId();
    const secret = input.secret ?? generateSecret();
    const now = new Date();
    const doc: EndpointDoc = {
      _id: id,
      tenantId: input.tenantId,
      url: input.url,
      description: input.description ?? '',
      eventTypes: input.eventTypes ?? [],
      agentIds: input.agentIds ?? [],
      enabled: input.enabled ?? true,
      disabledReason: null,
      secrets: [{ sealed: this.seal(id, secret), createdAt: now, expiresAt: null }],
      bearerSealed: null,
      failingSince: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.c.endpoints.insertOne(doc);
    await this.reload();
    return { doc, secret };
  }

  /** Rotates the secret: the new one signs from now on, the old ones until `graceMs` from now. */
  async rotate(doc: EndpointDoc, graceMs: number, secret = generateSecret()): Promise<string> {
    const now = new Date();
    const until = new Date(now.getTime() + graceMs);
    const kept = doc.secrets
      .filter((s) => s.expiresAt === null || s.expiresAt > now)
      .map((s) => ({ ...s, expiresAt: s.expiresAt && s.expiresAt < until ? s.expiresAt : until }));
    const secrets = [
      { sealed: this.seal(doc._id, secret), createdAt: now, expiresAt: null },
      ...kept,
    ];
    await this.c.endpoints.updateOne({ _id: doc._id }, { $set: { secrets, updatedAt: now } });
    await this.reload();
    return secret;
  }

  /**
   * Reloads after a change notice from another replica; until that reload
   * has finished, {@link all} and {@link get} wait for it. NATS hands a
   * connection its messages in the order the server sent them, and the
   * notice is sent before the API's reply: an intake batch holding events
   * published after a create or update call returned is matched against
   * the changed endpoints.
   *
   * @returns the reload (rejects when MongoDB fails; readers go on with the old cache)
   */
  changed(): Promise<void> {
    const p = this.reload();
    this.#changing = p;
    void p
      .catch(() => undefined)
      .finally(() => {
        if (this.#changing === p) this.#changing = undefined;
      });
    return p;
  }

  /** Live endpoints matching nothing in particular (the cache), reloading when stale. */
  async all(): Promise<LiveEndpoint[]> {
    await this.#fresh();
    return [...this.#cache.values()];
  }

  /** One live endpoint from the cache (reloading when stale). */
  async get(id: string): Promise<LiveEndpoint | undefined> {
    await this.#fresh();
    return this.#cache.get(id);
  }

  async #fresh(): Promise<void> {
    if (this.#changing) await this.#changing.catch(() => undefined);
    else if (Date.now() - this.#loadedAt > this.refreshMs) await this.reload();
  }

  /** Cached endpoint without I/O. */
  cached(id: string): LiveEndpoint | undefined {
    return this.#cache.get(id);
  }

  /**
   * Reloads the cache from MongoDB. The returned promise settles after a
   * load that STARTED after this call (so a write made before calling is
   * seen); concurrent callers share the queued load.
   */
  reload(): Promise<void> {
    if (this.#queued) return this.#queued;
    const queued = (this.#loading ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        const loading = this.#load().finally(() => {
          if (this.#loading === loading) this.#loading = undefined;
        });
        this.#loading = loading;
        return loading;
      });
    this.#queued = queued;
    return queued;
  }

  async #load(): Promise<void> {
    const docs = await this.c.endpoints.find({}).toArray();
    const now = new Date();
    const next = new Map<string, LiveEndpoint>();
    for (const d of docs) {
      next.set(d._id, {
        id: d._id,
        tenantId: d.tenantId,
        url: d.url,
        enabled: d.enabled,
        eventTypes: d.eventTypes ?? [],
        agentIds: d.agentIds ?? [],
        secrets: d.secrets
          .filter((s) => s.expiresAt === null || s.expiresAt > now)
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
          .map((s) => this.open(d._id, s.sealed)),
        bearer: d.bearerSealed ? this.open(d._id, d.bearerSealed) : null,
        failingSince: d.failingSince ?? null,
      });
    }
    this.#cache = next;
    this.#loadedAt = Date.now();
  }

  /** Disables an endpoint (by the notifier). @returns true when it was enabled */
  async disable(id: string, reason: string): Promise<boolean> {
    const r = await this.c.endpoints.updateOne(
      { _id: id, enabled: true },
      { $set: { enabled: false, disabledReason: reason, updatedAt: new Date() } },
    );
    const cached = this.#cache.get(id);
    if (cached) cached.enabled = false;
    return r.modifiedCount > 0;
  }

  /** Records the start or end of a failure run. */
  async setFailingSince(id: string, since: Date | null): Promise<void> {
    const cached = this.#cache.get(id);
    if (cached) cached.failingSince = since;
    await this.c.endpoints.updateOne({ _id: id }, { $set: { failingSince: since } });
  }
}
