/**
 * One live Telegram session on the shard that holds its lease: connects,
 * turns updates into events, recovers gaps (updates.getDifference,
 * updates.getChannelDifference), persists update state only after JetStream
 * acknowledged the events up to it, reconnects with backoff, detects revoked
 * authorizations, and answers commands (handlers/commands.ts).
 *
 * All update processing of a session runs through one serial queue, so state,
 * sequence numbers and event order stay consistent. Timers are shared: the
 * shard's scheduler calls {@link SessionRunner.tick}.
 *
 * Pts bookkeeping of single updates is in update-work.ts, the pieces of a
 * connection attempt (steps, timeout, failure reasons) in connect-attempt.ts.
 *
 * Sources: https://core.telegram.org/api/updates (pts/qts/seq, gaps,
 * getDifference), https://core.telegram.org/api/errors.
 */
import { Api } from 'telegram';
import bigInt from 'big-integer';
import type { TelegramClient, TelegramTarget } from '@tgbridge/telegram';
import type { Logger } from '@tgbridge/platform/logging';
import type { Keyring } from '@tgbridge/platform/crypto';
import type { Event } from '@tgbridge/proto/events/v1/events';
import { SessionStatus } from '@tgbridge/proto/common/v1/common';
import { EventType } from '@tgbridge/proto/subjects';
import type { Metrics } from '../metrics.js';
import type { PublishFn } from '../infra/publisher.js';
import type {
  LiveSessionRef,
  RuntimeStatus,
  SessionsRepo,
  StateCheckpoint,
} from '../infra/sessions-repo.js';
import { destroyClient, openClient } from '../infra/telegram.js';
import { inUpdateSpan } from '../infra/spans.js';
import { backoffDelay } from './backoff.js';
import { RequestTimeoutError, isAuthError, rpcErrorName } from './errors.js';
import {
  messageEvent,
  toProtoUser,
  type EventDraft,
  type MappingContext,
} from './event-mapping.js';
import { PeerCache, markedId, type UserInfo } from './peers.js';
import { TokenBucket } from './rate-limit.js';
import { checkPts, cloneState, sameState, type UpdateState } from './update-state.js';
import {
  AttemptAbandoned,
  ConnectTimeoutError,
  connectFailureReason,
  type ConnectStep,
} from './connect-attempt.js';
import {
  applyUpdate,
  newWork,
  shortMessage,
  type UpdateVerdict,
  type Work,
} from './update-work.js';

/** Tunables of a runner (ms unless stated). */
export interface RunnerSettings {
  requestTimeoutMs: number;
  /** Bound on one whole connection attempt (open, initConnection, catch-up). */
  connectTimeoutMs: number;
  keepaliveMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  debounceMs: number;
  floodMaxSleepS: number;
  ratePerS: number;
  burst: number;
  queue: number;
}

/** What a runner needs from the shard. */
export interface RunnerDeps {
  shardId: string;
  instanceId: string;
  target: TelegramTarget;
  repo: SessionsRepo;
  publish: PublishFn;
  keyring: Keyring;
  logger: Logger;
  metrics: Metrics;
  settings: RunnerSettings;
  /** Called once when Telegram revoked the session (after it was marked expired). */
  onExpired(sessionId: string): void;
}

/** Lifecycle of a runner. */
export type RunnerStatus = 'idle' | 'connecting' | 'live' | 'down' | 'stopped' | 'expired';

const MAX_DIFFERENCE_PAGES = 100;

/** A live session. */
export class SessionRunner {
  status: RunnerStatus = 'idle';
  readonly peers = new PeerCache();
  readonly bucket: TokenBucket;
  private client: TelegramClient | undefined;
  private self: UserInfo | undefined;
  private state: UpdateState | undefined;
  private seq = 0;
  /** Channels whose pts MongoDB already has (so a next owner resumes them instead of skipping ahead). */
  private readonly storedChannels = new Set<string>();
  private dirty = false;
  private lastActivityAt = new Date();
  private chain: Promise<void> = Promise.resolve();
  private attempt = 0;
  private nextAttemptAt = 0;
  private nextKeepaliveAt = 0;
  private lostAt: Date | undefined;
  private lostPublished = false;
  private everConnected = false;
  private needsRecovery = false;
  private statusCounter = 0;
  private busy = false;
  private generation = 0;
  private readonly log: Logger;

  constructor(
    readonly ref: LiveSessionRef,
    private readonly deps: RunnerDeps,
  ) {
    this.log = deps.logger.child({ session_id: ref.id });
    const s = deps.settings;
    this.bucket = new TokenBucket(s.ratePerS, s.burst, s.queue);
  }

  /** The session id. */
  get id(): string {
    return this.ref.id;
  }

  /** True while connected to Telegram. */
  get live(): boolean {
    return this.status === 'live';
  }

  /** Loads the session and connects; on failure keeps retrying from {@link tick}. Never throws. */
  async start(): Promise<void> {
    await this.connect();
  }

  /**
   * Reads the session document: sealed secret, update state, sequence, account.
   * @returns false when the session is no longer live in MongoDB (the runner stops)
   * @throws on MongoDB errors or a secret that no configured key opens
   */
  private async load(): Promise<boolean> {
    const doc = await this.deps.repo.load(this.id);
    if (!doc || !doc.sessionSecret || !['connected', 'disconnected'].includes(doc.status))
      return false;
    if (doc.updateState) this.state = cloneState(doc.updateState);
    this.seq = doc.eventSequence ?? 0;
    this.storedStatus = doc.status;
    for (const c of Object.keys(this.state?.channels ?? {})) this.storedChannels.add(c);
    if (doc.telegramUser)
      this.self = {
        id: doc.telegramUser.id,
        firstName: doc.telegramUser.firstName,
        lastName: doc.telegramUser.lastName,
        username: doc.telegramUser.username,
        phone: doc.telegramUser.phone,
        bot: false,
      };
    this.secret = this.openSecret(doc.sessionSecret);
    return true;
  }

  private secret = '';
  /** The runtime status as last read from or written to MongoDB (writes are skipped when unchanged). */
  private storedStatus: string | undefined;
  /** When the session went live, until written with the next checkpoint. */
  private connectedAt: Date | undefined;
  /** The step of the current connection attempt (reported when it hangs). */
  private step: ConnectStep = 'open';

  private openSecret(sealed: string): string {
    try {
      return this.deps.keyring.open(sealed, this.id);
    } catch {
      return this.deps.keyring.open(sealed);
    }
  }

  /**
   * One connection attempt (any status but stopped/expired), bounded by the
   * connect timeout. A step that hangs (a GramJS sender whose auth key the
   * server dropped never answers) is abandoned: the attempt's generation is
   * retired so late results are discarded, the client is destroyed, the step
   * is logged at warn and counted, and the attempt is retried with backoff.
   */
  private async connect(): Promise<void> {
    if (this.isStopped()) return;
    this.status = 'connecting';
    const generation = ++this.generation;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ConnectTimeoutError(this.step)),
        this.deps.settings.connectTimeoutMs,
      );
    });
    try {
      await Promise.race([this.connectSteps(generation), timeout]);
    } catch (e) {
      if (this.generation === generation) this.generation++;
      const c = this.client;
      this.client = undefined;
      if (c) await destroyClient(c);
      if (e instanceof AttemptAbandoned) return;
      if (isAuthError(e)) return this.expire(rpcErrorName(e)!);
      if (this.isStopped()) return;
      const reason = e instanceof ConnectTimeoutError ? 'timeout' : connectFailureReason(e);
      this.deps.metrics.connectFailures.inc({ reason, step: this.step });
      this.log.warn(
        {
          step: this.step,
          reason,
          attempt: this.attempt,
          err: { message: (e as Error)?.message, type: (e as Error)?.name },
        },
        'connect failed',
      );
      this.status = 'down';
      this.lostAt ??= new Date();
      this.scheduleReconnect();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Throws {@link AttemptAbandoned} when the attempt `generation` was timed out or stopped. */
  private check(generation: number): void {
    if (this.generation !== generation || this.isStopped()) throw new AttemptAbandoned();
  }

  /** The steps of a connection attempt; see {@link connect}. */
  private async connectSteps(generation: number): Promise<void> {
    if (!this.secret) {
      this.step = 'load';
      const live = await this.load();
      this.check(generation);
      if (!live) {
        this.log.info('session no longer live in MongoDB; not starting');
        this.status = 'stopped';
        throw new AttemptAbandoned();
      }
    }
    this.step = 'open';
    const client = await openClient(this.deps.target, this.secret, {
      onUpdates: (u) => {
        if (this.generation === generation && !this.isStopped())
          void this.enqueue(() => inUpdateSpan(u.className, this.id, () => this.handleUpdates(u)));
      },
      onDrop: (reason) => {
        if (this.generation === generation) this.onDrop(reason);
      },
    });
    if (this.generation !== generation || this.isStopped()) {
      await destroyClient(client);
      throw new AttemptAbandoned();
    }
    this.client = client;
    if (!this.self) {
      // the session document normally carries the account (auth writes it at login)
      this.step = 'get_me';
      const users = await this.invoke(new Api.users.GetUsers({ id: [new Api.InputUserSelf()] }));
      this.check(generation);
      const me = users[0];
      if (me) {
        this.peers.addUser(me);
        this.self = this.peers.user(me.id.toString());
      }
    }
    this.step = this.state ? 'recover' : 'init_state';
    await this.enqueue(() => (this.state ? this.recover() : this.initState()));
    this.check(generation);
    this.status = 'live';
    this.attempt = 0;
    this.nextKeepaliveAt = Date.now() + this.deps.settings.keepaliveMs * (0.5 + Math.random() / 2);
    this.deps.metrics.liveSessions.inc();
    this.connectedAt = new Date();
    this.writeStatus('connected');
    if (!this.everConnected) {
      this.everConnected = true;
      void this.enqueue(() =>
        this.publishStatus(EventType.SessionConnected, SessionStatus.CONNECTED),
      );
    } else if (this.lostPublished) {
      const lostAt = this.lostAt;
      void this.enqueue(() =>
        this.publishStatus(
          EventType.ConnectionRestored,
          SessionStatus.CONNECTED,
          undefined,
          lostAt,
        ),
      );
    }
    this.lostPublished = false;
    this.lostAt = undefined;
    this.log.info({ recovered_from_pts: this.state?.pts }, 'session live');
  }

  /** Records connected/disconnected in MongoDB when it differs from what is stored there (in the background). */
  private writeStatus(status: RuntimeStatus): void {
    if (this.storedStatus === status) return;
    const before = this.storedStatus;
    this.storedStatus = status;
    this.deps.repo.setRuntimeStatus(this.id, status).catch((e: unknown) => {
      if (this.storedStatus === status) this.storedStatus = before;
      this.log.warn({ err: { message: (e as Error)?.message } }, 'status write failed');
    });
  }

  private isStopped(): boolean {
    return this.status === 'stopped' || this.status === 'expired';
  }

  private scheduleReconnect(): void {
    const s = this.deps.settings;
    this.nextAttemptAt =
      Date.now() + backoffDelay(this.attempt++, s.reconnectBaseMs, s.reconnectMaxMs);
  }

  /** The link dropped: destroy the client and reconnect with backoff. */
  private onDrop(reason: string): void {
    if (this.status !== 'live') return;
    this.log.info({ reason }, 'connection lost');
    this.generation++;
    this.status = 'down';
    this.deps.metrics.liveSessions.dec();
    this.lostAt = new Date();
    const c = this.client;
    this.client = undefined;
    if (c) void destroyClient(c);
    this.attempt = 0;
    this.scheduleReconnect();
  }

  /**
   * Shared-timer work, called by the shard's scheduler: reconnect when due,
   * publish a debounced connection_lost, keepalive (updates.getState).
   */
  tick(now: number): void {
    if (this.isStopped()) return;
    const s = this.deps.settings;
    // An outage longer than the debounce is reported even while a reconnect
    // attempt is still running (a slow attempt must not hide it).
    if (
      (this.status === 'down' || this.status === 'connecting') &&
      this.lostAt &&
      !this.lostPublished &&
      now - this.lostAt.getTime() >= s.debounceMs
    ) {
      this.lostPublished = true;
      void this.enqueue(() =>
        this.publishStatus(EventType.ConnectionLost, SessionStatus.DISCONNECTED, 'network'),
      );
      this.writeStatus('disconnected');
    }
    if (this.busy) return;
    if (this.status === 'down' && now >= this.nextAttemptAt) {
      this.deps.metrics.reconnects.inc();
      this.busy = true;
      void this.connect().finally(() => (this.busy = false));
      return;
    }
    if (this.status === 'live' && (now >= this.nextKeepaliveAt || this.needsRecovery)) {
      this.nextKeepaliveAt = now + s.keepaliveMs;
      this.busy = true;
      void this.keepalive().finally(() => (this.busy = false));
    }
  }

  private async keepalive(): Promise<void> {
    try {
      if (this.needsRecovery) {
        this.needsRecovery = false;
        await this.enqueue(() => this.recover());
        return;
      }
      const st = await this.invoke(new Api.updates.GetState());
      if (this.state && st.pts > this.state.pts) await this.enqueue(() => this.recover());
    } catch (e) {
      if (isAuthError(e)) return this.expire(rpcErrorName(e)!);
      if (e instanceof RequestTimeoutError || /disconnected/i.test(String((e as Error)?.message)))
        this.onDrop('timeout');
    }
  }

  /** Stops (hand-off, shutdown, lease lost): flushes nothing here; the caller flushes. */
  async stop(): Promise<void> {
    if (this.status === 'live') this.deps.metrics.liveSessions.dec();
    if (!this.isStopped()) this.status = 'stopped';
    this.generation++;
    const c = this.client;
    this.client = undefined;
    if (c) await destroyClient(c);
    await this.chain.catch(() => {});
  }

  /** Telegram revoked the session: mark expired, publish session_expired, stop for good. */
  private async expire(reason: string): Promise<void> {
    if (this.status === 'expired') return;
    if (this.status === 'live') this.deps.metrics.liveSessions.dec();
    this.status = 'expired';
    this.generation++;
    this.log.warn({ reason }, 'session expired (revoked by Telegram)');
    this.deps.metrics.sessionsExpired.inc();
    const c = this.client;
    this.client = undefined;
    if (c) await destroyClient(c);
    try {
      await this.deps.repo.markExpired(this.id, reason);
      await this.publishStatus(EventType.SessionExpired, SessionStatus.EXPIRED, reason);
    } catch (e) {
      this.log.error({ err: e }, 'cannot record expiry');
    }
    this.deps.onExpired(this.id);
  }

  /** Calls Telegram through the live client with the request timeout. @throws RPCError, RequestTimeoutError, Error */
  async invoke<R extends Api.AnyRequest>(req: R): Promise<R['__response']> {
    const c = this.client;
    if (!c) throw new Error('session is disconnected');
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        c.invoke(req),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new RequestTimeoutError(req.className)),
            this.deps.settings.requestTimeoutMs,
          );
        }),
      ]);
    } catch (e) {
      if (isAuthError(e)) void this.expire(rpcErrorName(e)!);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs `fn` after everything queued before it (update processing is serial). */
  enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.then(
      () => undefined,
      (e: unknown) => {
        if (!this.isStopped())
          this.log.warn(
            { err: { message: (e as Error)?.message } },
            'update processing failed; will recover',
          );
        this.needsRecovery = true;
      },
    );
    return p;
  }

  // ---- state -------------------------------------------------------------

  private mapping(): MappingContext {
    return { sessionId: this.id, self: this.self ?? { id: '0', bot: false }, peers: this.peers };
  }

  /**
   * First connect of a session without stored state: start from
   * updates.getState and the dialogs' channel pts, and store that state at
   * once (MongoDB). @throws on Telegram or MongoDB errors (the attempt is retried)
   */
  private async initState(): Promise<void> {
    const st = await this.invoke(new Api.updates.GetState());
    const state: UpdateState = {
      pts: st.pts,
      qts: st.qts,
      date: st.date,
      seq: st.seq,
      channels: {},
    };
    try {
      const d = await this.invoke(
        new Api.messages.GetDialogs({
          offsetPeer: new Api.InputPeerEmpty(),
          limit: 100,
          hash: bigInt(0),
        }),
      );
      if (!(d instanceof Api.messages.DialogsNotModified)) {
        this.peers.addAll(d.users, d.chats);
        for (const dl of d.dialogs) {
          if (dl instanceof Api.Dialog && dl.peer instanceof Api.PeerChannel && dl.pts)
            state.channels[dl.peer.channelId.toString()] = dl.pts;
        }
      }
    } catch (e) {
      if (isAuthError(e)) throw e;
    }
    // Stored before the session counts as live: if this shard died before its
    // next checkpoint, the next owner would otherwise initialise again from
    // the then-current state and never publish what arrived in between.
    await this.deps.repo.saveCheckpoint(
      { id: this.id, state, eventSequence: this.seq, lastActivityAt: this.lastActivityAt },
      true,
    );
    for (const c of Object.keys(state.channels)) this.storedChannels.add(c);
    this.state = state;
  }

  /**
   * Publishes drafts in order, then advances sequence and committed state.
   * A channel the stored state does not list yet is first written to MongoDB
   * at its pts before this work (see {@link storeNewChannels}).
   * @throws when a publish or that write fails
   */
  private async commit(w: Work): Promise<void> {
    const fresh = Object.keys(w.next.channels).filter((c) => !this.storedChannels.has(c));
    if (fresh.length > 0) await this.storeNewChannels(w, fresh);
    if (w.drafts.length > 0) {
      const base = this.seq;
      const occurredAt = new Date();
      await Promise.all(
        w.drafts.map((d, i) =>
          this.deps.publish(this.envelope(d, base + i + 1, w.recovered, occurredAt)),
        ),
      );
      this.seq = base + w.drafts.length;
      this.lastActivityAt = occurredAt;
    }
    if (!sameState(this.state, w.next)) {
      this.state = w.next;
      this.dirty = true;
    } else if (w.drafts.length > 0) this.dirty = true;
  }

  /**
   * Writes the committed state plus channels seen for the first time (at
   * their pts before this work) before anything from them is published. A
   * next owner that found no pts for such a channel would take the channel's
   * current pts from updates.getDifference and skip what this shard had not
   * published yet. Happens once per channel and session (joins are rare).
   * @throws on MongoDB errors (the work is retried through recovery)
   */
  private async storeNewChannels(w: Work, channels: string[]): Promise<void> {
    const base = this.state ? cloneState(this.state) : cloneState(w.next);
    for (const c of channels) base.channels[c] = w.channelStart[c] ?? w.next.channels[c]!;
    await this.deps.repo.saveCheckpoint(
      { id: this.id, state: base, eventSequence: this.seq, lastActivityAt: this.lastActivityAt },
      true,
    );
    for (const c of channels) this.storedChannels.add(c);
  }

  private envelope(d: EventDraft, sequence: number, recovered: boolean, occurredAt: Date): Event {
    return {
      eventId: d.id,
      type: d.type,
      tenantId: this.ref.tenantId,
      agentId: this.ref.agentId,
      sessionId: this.id,
      occurredAt,
      sequence: String(sequence),
      recovered,
      payload: d.payload,
    };
  }

  private async publishStatus(
    type: EventType,
    status: SessionStatus,
    reason?: string,
    lostAt?: Date,
  ): Promise<void> {
    const draft: EventDraft = {
      id: `${this.id}:s:${type}:${this.deps.instanceId}:${++this.statusCounter}`,
      type,
      payload: {
        $case: 'session',
        value: { status, reason, user: this.self ? toProtoUser(this.self) : undefined, lostAt },
      },
    };
    await this.commit({
      next: this.state ? cloneState(this.state) : { pts: 0, qts: 0, date: 0, seq: 0, channels: {} },
      drafts: [draft],
      recovered: false,
      channelStart: {},
    });
  }

  /** The checkpoint to persist when something changed since the last one (then marks it taken). */
  takeCheckpoint(): StateCheckpoint | undefined {
    if (!this.dirty || !this.state) return undefined;
    this.dirty = false;
    const cp = {
      id: this.id,
      state: cloneState(this.state),
      eventSequence: this.seq,
      lastActivityAt: this.lastActivityAt,
      connectedAt: this.connectedAt,
    };
    this.connectedAt = undefined;
    return cp;
  }

  /** Re-marks a checkpoint dirty after a failed write. */
  checkpointFailed(): void {
    this.dirty = true;
  }

  // ---- updates -----------------------------------------------------------

  private work(recovered = false): Work {
    return newWork(this.state!, recovered);
  }

  /** {@link applyUpdate} with this session's mapping context. */
  private processOne(u: Api.TypeUpdate, w: Work, inDifference = false): UpdateVerdict {
    return applyUpdate(u, w, this.mapping(), inDifference);
  }

  /** Handles one raw Updates object from the connection. */
  private async handleUpdates(u: Api.TypeUpdates): Promise<void> {
    if (!this.state || this.isStopped()) return;
    if (u instanceof Api.UpdatesTooLong) return this.recover();
    const w = this.work();
    if (u instanceof Api.UpdateShortMessage || u instanceof Api.UpdateShortChatMessage) {
      const senderId =
        u instanceof Api.UpdateShortMessage
          ? u.out
            ? this.self?.id
            : u.userId.toString()
          : u.fromId.toString();
      const known =
        senderId !== undefined &&
        (senderId === this.self?.id || this.peers.user(senderId) !== undefined);
      const verdict = checkPts(w.next.pts, u.pts, u.ptsCount);
      if (verdict === 'skip') return;
      if (verdict === 'gap' || !known) return this.recover();
      const msg = shortMessage(u);
      const ev = messageEvent(msg, false, this.mapping());
      if (ev) w.drafts.push(ev);
      w.next.pts = u.pts;
      w.next.date = Math.max(w.next.date, u.date);
      return this.commit(w);
    }
    if (u instanceof Api.UpdateShort) {
      const r = this.processOne(u.update, w);
      await this.commit(w);
      return this.afterGap(r);
    }
    if (u instanceof Api.Updates || u instanceof Api.UpdatesCombined) {
      this.peers.addAll(u.users, u.chats);
      for (const upd of u.updates) {
        const r = this.processOne(upd, w);
        if (r !== 'ok') {
          await this.commit(w);
          await this.afterGap(r);
          if (r === 'gap') return;
          Object.assign(w, this.work());
        }
      }
      if (u.seq > 0) w.next.seq = u.seq;
      w.next.date = Math.max(w.next.date, u.date);
      return this.commit(w);
    }
  }

  private async afterGap(r: UpdateVerdict): Promise<void> {
    if (r === 'ok') return;
    if (r === 'gap') return this.recover();
    return this.recoverChannel(r.channel, r.pts);
  }

  /** updates.getDifference from the committed state until it is complete; publishes what was missed (recovered). */
  async recover(): Promise<void> {
    if (!this.state) return;
    const channels: Array<{ channel: string; pts?: number }> = [];
    for (let page = 0; page < MAX_DIFFERENCE_PAGES; page++) {
      const s = this.state;
      const diff = await this.invoke(
        new Api.updates.GetDifference({ pts: s.pts, date: s.date, qts: s.qts }),
      );
      const w = this.work(true);
      if (diff instanceof Api.updates.DifferenceEmpty) {
        w.next.date = diff.date;
        w.next.seq = diff.seq;
        await this.commit(w);
        break;
      }
      if (diff instanceof Api.updates.DifferenceTooLong) {
        this.log.warn(
          { from_pts: s.pts, to_pts: diff.pts },
          'difference too long; older updates are not recoverable',
        );
        w.next.pts = diff.pts;
        await this.commit(w);
        continue;
      }
      this.peers.addAll(diff.users, diff.chats);
      const ctx = this.mapping();
      for (const m of diff.newMessages) {
        const ev = messageEvent(m, false, ctx);
        if (ev) w.drafts.push(ev);
      }
      for (const u of diff.otherUpdates) {
        const r = this.processOne(u, w, true);
        if (r !== 'ok' && r !== 'gap') channels.push(r);
      }
      const st = diff instanceof Api.updates.Difference ? diff.state : diff.intermediateState;
      w.next.pts = st.pts;
      w.next.qts = st.qts;
      w.next.date = st.date;
      w.next.seq = st.seq;
      await this.commit(w);
      if (diff instanceof Api.updates.Difference) break;
    }
    for (const c of channels) await this.recoverChannel(c.channel, c.pts);
  }

  /** updates.getChannelDifference for one channel from its committed pts; publishes what was missed. */
  async recoverChannel(channelId: string, hintPts?: number): Promise<void> {
    if (!this.state) return;
    const input = this.peers.inputChannel(channelId);
    const local = this.state.channels[channelId];
    if (!input || local === undefined) {
      if (local === undefined && hintPts !== undefined) {
        const w = this.work();
        w.next.channels[channelId] = hintPts;
        await this.commit(w);
      }
      if (!input)
        this.log.warn({ channel_id: channelId }, 'channel gap but no access hash known; skipping');
      return;
    }
    for (let page = 0; page < MAX_DIFFERENCE_PAGES; page++) {
      const pts = this.state.channels[channelId] ?? local;
      const diff = await this.invoke(
        new Api.updates.GetChannelDifference({
          channel: input,
          filter: new Api.ChannelMessagesFilterEmpty(),
          pts,
          limit: 100,
        }),
      );
      const w = this.work(true);
      if (diff instanceof Api.updates.ChannelDifferenceEmpty) {
        w.next.channels[channelId] = diff.pts;
        await this.commit(w);
        return;
      }
      this.peers.addAll(diff.users, diff.chats);
      const ctx = this.mapping();
      if (diff instanceof Api.updates.ChannelDifferenceTooLong) {
        for (const m of diff.messages) {
          const ev = messageEvent(m, false, ctx);
          if (ev) w.drafts.push(ev);
        }
        const dialogPts = diff.dialog instanceof Api.Dialog ? diff.dialog.pts : undefined;
        if (dialogPts !== undefined) w.next.channels[channelId] = dialogPts;
        await this.commit(w);
        return;
      }
      for (const m of diff.newMessages) {
        const ev = messageEvent(m, false, ctx);
        if (ev) w.drafts.push(ev);
      }
      for (const u of diff.otherUpdates) this.processOne(u, w, true);
      w.next.channels[channelId] = diff.pts;
      await this.commit(w);
      if (diff.final) return;
    }
  }

  /**
   * Feeds the pts of a result of one of this session's own requests
   * (messages.sendMessage → updateShortSentMessage, readHistory /
   * deleteMessages → affectedMessages) through the update pipeline, with the
   * event to publish when it applies.
   */
  async applyOwnPts(pts: number, ptsCount: number, draft?: EventDraft): Promise<void> {
    await this.enqueue(async () => {
      if (!this.state) return;
      const w = this.work();
      const v = checkPts(w.next.pts, pts, ptsCount);
      if (v === 'skip') return;
      if (v === 'gap') return this.recover();
      w.next.pts = pts;
      if (draft) w.drafts.push(draft);
      return this.commit(w);
    });
  }

  /** Feeds an Updates result of one of this session's own requests (e.g. sendMedia) through the pipeline. */
  async applyOwnUpdates(u: Api.TypeUpdates): Promise<void> {
    await this.enqueue(() => this.handleUpdates(u));
  }

  /** Mapping context (commands render messages with it). */
  mappingContext(): MappingContext {
    return this.mapping();
  }

  /** Bot API chat id of a peer (re-exported for commands). */
  static chatIdOf(peer: Api.TypePeer): string {
    return markedId(peer);
  }
}
