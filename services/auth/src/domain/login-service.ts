/**
 * The login flows (QR, phone code, 2FA) and logout, over GramJS.
 *
 * MongoDB is the truth: every flow's temporary MTProto session (sealed),
 * phone_code_hash and QR token live in its session document, so any replica
 * can continue any flow, also after a restart (the same auth key is reused:
 * phone_code_hash is bound to it). Live GramJS clients are only a cache,
 * destroyed when the flow ends or expires. Transitions are conditional
 * updates on the expected status, so concurrent replicas cannot both win;
 * within one process, calls on the same flow are serialised.
 *
 * Spec: https://core.telegram.org/api/auth, /api/qr-login, /api/srp.
 */
import { randomUUID } from 'node:crypto';
import { Api, type TelegramClient } from 'telegram';
import { computeCheck } from 'telegram/Password.js';
import type { Model } from 'mongoose';
import type { Logger } from 'pino';
import type { LoginState } from '@tgbridge/proto/auth/v1/auth';
import { SessionStatus } from '@tgbridge/proto/common/v1/common';
import { EventType } from '@tgbridge/proto/subjects';
import type { Keyring } from '@tgbridge/platform/crypto';
import type { SessionDoc, TelegramUserDoc } from '@tgbridge/sessions';
import { invokeQuiet, saveSession, type TelegramClients } from '../infra/telegram.js';
import type { EventPublisher } from '../infra/events.js';
import type { AuthMetrics } from '../metrics.js';
import { nextCodeType, sentCodeType } from './code-types.js';
import { LoginFailure, telegramErrorName, toLoginFailure } from './errors.js';
import {
  AUTHORIZED_STATUSES,
  LOGIN_STATUSES,
  protoUser,
  toLoginState,
  type FlowSecret,
  type LoginData,
} from './flow-doc.js';

/** Dependencies of {@link LoginService}. */
export interface LoginServiceDeps {
  sessions: Model<SessionDoc>;
  keyring: Keyring;
  telegram: TelegramClients;
  events: EventPublisher;
  logger: Logger;
  /** Counts completed logins (`tgbridge_auth_login_flows_completed_total`). */
  metrics?: Pick<AuthMetrics, 'flowsCompleted'>;
  /** Lifetime of an unfinished flow, ms. */
  flowTtlMs: number;
  /** Re-export a QR token this close to its expiry, ms. */
  qrRefreshMarginMs: number;
}

/** Optional per-account Telegram app credentials. */
export interface ApiCreds {
  apiId: number;
  apiHash: string;
}

interface LiveClient {
  client: TelegramClient;
  /** Flow expiry (ms since epoch): the client is destroyed after it at the latest. */
  expiresAt: number;
}

const ID_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
/** Minimum interval between acceptance checks of one QR flow on status reads, ms. */
const ACCEPT_CHECK_INTERVAL_MS = 3000;

/** Login flows and logout. One instance per process. */
export class LoginService {
  readonly #live = new Map<string, LiveClient>();
  readonly #locks = new Map<string, Promise<void>>();
  /** When each pending QR flow was last checked for a missed acceptance (ms). */
  readonly #acceptChecks = new Map<string, number>();
  readonly #log: Logger;

  constructor(private readonly d: LoginServiceDeps) {
    this.#log = d.logger.child({ component: 'login' });
  }

  // ---------------------------------------------------------------- QR

  /** Starts a QR login: exports a token; state PENDING with `qr`. */
  async startQr(tenantId: string, agentId: string, api?: ApiCreds): Promise<LoginState> {
    checkIds(tenantId, agentId);
    const id = randomUUID();
    const client = await this.#open(undefined, api);
    const doc = await this.#insert(id, tenantId, agentId, 'pending', 'qr', client, api);
    this.#cache(id, client, doc);
    this.#log.info({ sessionId: id, tenantId, agentId }, 'qr login started');
    return this.#lock(id, async () => this.#exportQr(doc, client));
  }

  // ------------------------------------------------------------- phone

  /** Starts a phone login: Telegram sends a code; state AWAITING_CODE. */
  async startPhone(
    tenantId: string,
    agentId: string,
    phone: string,
    api?: ApiCreds,
  ): Promise<LoginState> {
    checkIds(tenantId, agentId);
    const digits = phone.replace(/[\s()-]/g, '').replace(/^\+/, '');
    if (!/^[0-9]{5,15}$/.test(digits)) {
      throw new LoginFailure('PHONE_NUMBER_INVALID', 'phone must be + and 5-15 digits');
    }
    const client = await this.#open(undefined, api);
    let sent: Api.auth.TypeSentCode;
    try {
      sent = await invokeQuiet(
        client,
        new Api.auth.SendCode({
          phoneNumber: digits,
          apiId: client.apiId,
          apiHash: client.apiHash,
          settings: new Api.CodeSettings({}),
        }),
      );
    } catch (err) {
      await this.d.telegram.close(client);
      throw this.#fail(err, 'sendCode');
    }
    const id = randomUUID();
    const status = sent instanceof Api.auth.SentCode ? 'awaiting_code' : 'pending';
    const doc = await this.#insert(id, tenantId, agentId, status, 'phone', client, api, {
      phone: `+${digits}`,
      login: sent instanceof Api.auth.SentCode ? codeFields(sent) : {},
    });
    this.#cache(id, client, doc);
    this.#log.info({ sessionId: id, tenantId, agentId }, 'phone login started, code sent');
    if (sent instanceof Api.auth.SentCodeSuccess) {
      return this.#lock(id, () => this.#complete(doc, client, sent.authorization));
    }
    return toLoginState(doc);
  }

  /** Sends the code again by the next delivery type. */
  async resendCode(tenantId: string, id: string): Promise<LoginState> {
    return this.#lock(id, async () => {
      const doc = await this.#openFlow(tenantId, id, ['awaiting_code']);
      const login = doc.login as unknown as LoginData;
      const client = await this.#clientFor(doc);
      let sent: Api.auth.TypeSentCode;
      try {
        sent = await invokeQuiet(
          client,
          new Api.auth.ResendCode({
            phoneNumber: phoneDigits(doc),
            phoneCodeHash: login.phoneCodeHash ?? '',
          }),
        );
      } catch (err) {
        throw this.#fail(err, 'resendCode', id);
      }
      if (sent instanceof Api.auth.SentCodeSuccess) {
        return this.#complete(doc, client, sent.authorization);
      }
      const fields = codeFields(sent as Api.auth.SentCode);
      await this.d.sessions.updateOne(
        { _id: id, status: 'awaiting_code' },
        {
          $set: {
            'login.phoneCodeHash': fields.phoneCodeHash,
            'login.code': fields.code,
            'login.secret': this.#sealFlow(id, client, doc),
          },
        },
      );
      this.#log.info({ sessionId: id }, 'login code re-sent');
      return this.#state(tenantId, id);
    });
  }

  /** Submits the login code: CONNECTED, or AWAITING_PASSWORD for 2FA accounts. */
  async submitCode(tenantId: string, id: string, code: string): Promise<LoginState> {
    if (!/^[0-9]{1,10}$/.test(code)) {
      throw new LoginFailure('PHONE_CODE_INVALID', 'the code must be digits');
    }
    return this.#lock(id, async () => {
      const doc = await this.#openFlow(tenantId, id, ['awaiting_code']);
      const login = doc.login as unknown as LoginData;
      const client = await this.#clientFor(doc);
      let auth: Api.auth.TypeAuthorization;
      try {
        auth = await invokeQuiet(
          client,
          new Api.auth.SignIn({
            phoneNumber: phoneDigits(doc),
            phoneCodeHash: login.phoneCodeHash ?? '',
            phoneCode: code,
          }),
        );
      } catch (err) {
        if (telegramErrorName(err) === 'SESSION_PASSWORD_NEEDED') {
          return this.#toPassword(doc, client);
        }
        throw this.#fail(err, 'signIn', id);
      }
      return this.#complete(doc, client, auth);
    });
  }

  // --------------------------------------------------------------- 2FA

  /** Submits the 2FA password (SRP, https://core.telegram.org/api/srp). */
  async submitPassword(tenantId: string, id: string, password: string): Promise<LoginState> {
    return this.#lock(id, async () => {
      const doc = await this.#openFlow(tenantId, id, ['awaiting_password']);
      const client = await this.#clientFor(doc);
      for (let attempt = 0; ; attempt++) {
        try {
          const pwd = await invokeQuiet(client, new Api.account.GetPassword());
          const check = await computeCheck(pwd, password);
          const auth = await invokeQuiet(client, new Api.auth.CheckPassword({ password: check }));
          return await this.#complete(doc, client, auth);
        } catch (err) {
          // The SRP parameters changed between getPassword and checkPassword: once more.
          if (telegramErrorName(err) === 'SRP_ID_INVALID' && attempt === 0) continue;
          throw this.#fail(err, 'checkPassword', id);
        }
      }
    });
  }

  // ------------------------------------------------------------ status

  /**
   * Current state. While a QR flow is pending the token is re-exported when
   * it is about to expire (so the code is always scannable), and a replica
   * that holds no client for the flow attaches one (to receive
   * updateLoginToken) and checks for an acceptance it missed.
   */
  async status(tenantId: string, id: string): Promise<LoginState> {
    const doc = await this.#load(tenantId, id, 'SESSION_NOT_FOUND');
    if (LOGIN_STATUSES.includes(doc.status) && isExpired(doc)) {
      await this.#expire(id, 'FLOW_EXPIRED');
      return this.#state(tenantId, id);
    }
    if (doc.status !== 'pending' || doc.method !== 'qr') return toLoginState(doc);
    return this.#lock(id, async () => {
      const cur = await this.#load(tenantId, id, 'SESSION_NOT_FOUND');
      if (cur.status !== 'pending') return toLoginState(cur);
      const login = cur.login as unknown as LoginData;
      const client = await this.#clientFor(cur);
      // updateLoginToken may have gone to a connection that no longer exists (or
      // not be pushed at all to a connection without updates): check now and then.
      const last = this.#acceptChecks.get(id) ?? 0;
      if (login.qr && Date.now() - last >= ACCEPT_CHECK_INTERVAL_MS) {
        this.#acceptChecks.set(id, Date.now());
        const done = await this.#checkAccepted(cur, client, login.qr.token);
        if (done) return done;
      }
      if (!login.qr || login.qr.expiresAt - Date.now() < this.d.qrRefreshMarginMs) {
        return this.#exportQr(cur, client);
      }
      return toLoginState(cur);
    });
  }

  // ----------------------------------------------------- cancel/logout

  /** Abandons an unfinished flow (status EXPIRED). */
  async cancel(tenantId: string, id: string): Promise<LoginState> {
    return this.#lock(id, async () => {
      const doc = await this.#load(tenantId, id, 'FLOW_NOT_FOUND');
      if (LOGIN_STATUSES.includes(doc.status)) {
        await this.#expire(id, 'cancelled');
      } else if (AUTHORIZED_STATUSES.includes(doc.status)) {
        throw new LoginFailure('FLOW_STATE_INVALID', 'the session is authorized: use LogOut');
      }
      return this.#state(tenantId, id);
    });
  }

  /**
   * Logs a session out (seed 000 `disconnect`): `auth.logOut` at Telegram,
   * status LOGGED_OUT, secret wiped, `session_logged_out` published. An
   * unfinished flow is abandoned (LOGGED_OUT). Idempotent.
   */
  async logOut(tenantId: string, id: string): Promise<LoginState> {
    return this.#lock(id, async () => {
      const doc = await this.#load(tenantId, id, 'SESSION_NOT_FOUND');
      if (LOGIN_STATUSES.includes(doc.status)) {
        await this.d.sessions.updateOne(
          { _id: id, status: { $in: LOGIN_STATUSES } },
          {
            $set: { status: 'logged_out', loggedOutAt: new Date(), endReason: 'cancelled' },
            $unset: { login: 1 },
          },
        );
        await this.#drop(id);
      } else if (AUTHORIZED_STATUSES.includes(doc.status)) {
        await this.#logOutSession(doc, 'logout');
      }
      return this.#state(tenantId, id);
    });
  }

  // ---------------------------------------------------------- upkeep

  /**
   * Expires flows past their deadline and destroys cached clients of flows
   * that ended (here or on another replica). Run periodically.
   * @returns number of flows expired
   */
  async sweep(): Promise<number> {
    const now = new Date();
    const stale = await this.d.sessions
      .find({ status: { $in: LOGIN_STATUSES }, loginExpiresAt: { $lt: now } }, { _id: 1 })
      .lean<Array<{ _id: string }>>()
      .exec();
    for (const { _id } of stale) await this.#expire(_id, 'FLOW_EXPIRED');
    const ids = [...this.#live.keys()];
    if (ids.length > 0) {
      const open = await this.d.sessions
        .find({ _id: { $in: ids }, status: { $in: LOGIN_STATUSES } }, { _id: 1 })
        .lean<Array<{ _id: string }>>()
        .exec();
      const keep = new Set(open.map((d) => d._id));
      for (const id of ids) {
        const live = this.#live.get(id);
        if (!keep.has(id) || (live && live.expiresAt < now.getTime())) await this.#drop(id);
      }
    }
    if (stale.length > 0) this.#log.info({ expired: stale.length }, 'expired login flows');
    return stale.length;
  }

  /** Destroys every cached client. */
  async close(): Promise<void> {
    await Promise.all([...this.#live.keys()].map((id) => this.#drop(id)));
  }

  /** Number of cached live clients (metrics/tests). */
  get liveClients(): number {
    return this.#live.size;
  }

  // --------------------------------------------------------- internals

  async #open(session: string | undefined, api?: ApiCreds): Promise<TelegramClient> {
    try {
      return await this.d.telegram.open(session, api);
    } catch (err) {
      throw this.#fail(err, 'connect');
    }
  }

  /** Logs a failed Telegram step (no secrets) and maps it. */
  #fail(err: unknown, step: string, sessionId?: string): LoginFailure {
    const failure = toLoginFailure(err);
    const level = failure.reason === 'INTERNAL' ? 'error' : 'info';
    this.#log[level](
      {
        sessionId,
        step,
        reason: failure.reason,
        telegramError: telegramErrorName(err),
        ...(failure.reason === 'INTERNAL' ? { errMessage: (err as Error)?.message } : {}),
      },
      'login step failed',
    );
    return failure;
  }

  async #insert(
    id: string,
    tenantId: string,
    agentId: string,
    status: SessionDoc['status'],
    method: SessionDoc['method'],
    client: TelegramClient,
    api: ApiCreds | undefined,
    extra: { phone?: string; login?: Partial<LoginData> } = {},
  ): Promise<SessionDoc> {
    const secret: FlowSecret = { session: saveSession(client), apiHash: api?.apiHash };
    const login: LoginData = {
      secret: this.d.keyring.seal(JSON.stringify(secret), id),
      ...(api ? { apiId: api.apiId } : {}),
      ...extra.login,
    };
    const fields: Partial<SessionDoc> = {
      _id: id,
      tenantId,
      agentId,
      status,
      method,
      ...(extra.phone ? { phone: extra.phone } : {}),
      login: login as unknown as Record<string, unknown>,
      loginExpiresAt: new Date(Date.now() + this.d.flowTtlMs),
      eventSequence: 0,
    };
    const created = await new this.d.sessions(fields).save();
    return created.toObject() as SessionDoc;
  }

  #sealFlow(id: string, client: TelegramClient, doc: SessionDoc): string {
    const login = doc.login as unknown as LoginData;
    const old = JSON.parse(this.d.keyring.open(login.secret, id)) as FlowSecret;
    return this.d.keyring.seal(JSON.stringify({ ...old, session: saveSession(client) }), id);
  }

  #cache(id: string, client: TelegramClient, doc: SessionDoc): void {
    const expiresAt = doc.loginExpiresAt?.getTime() ?? Date.now() + this.d.flowTtlMs;
    this.#live.set(id, { client, expiresAt });
    if (doc.method === 'qr') {
      client.addEventHandler((update: unknown) => {
        if (update instanceof Api.UpdateLoginToken) void this.#onLoginToken(id);
      });
    }
  }

  async #drop(id: string): Promise<void> {
    const live = this.#live.get(id);
    if (!live) return;
    this.#live.delete(id);
    this.#acceptChecks.delete(id);
    await this.d.telegram.close(live.client);
  }

  /** A cached client for the flow, or one restored from its sealed session. */
  async #clientFor(doc: SessionDoc): Promise<TelegramClient> {
    const live = this.#live.get(doc._id);
    if (live) return live.client;
    const login = doc.login as unknown as LoginData;
    const secret = JSON.parse(this.d.keyring.open(login.secret, doc._id)) as FlowSecret;
    const api =
      login.apiId !== undefined && secret.apiHash
        ? { apiId: login.apiId, apiHash: secret.apiHash }
        : undefined;
    const client = await this.#open(secret.session, api);
    this.#cache(doc._id, client, doc);
    this.#log.debug({ sessionId: doc._id }, 'flow client restored from MongoDB');
    return client;
  }

  async #load(
    tenantId: string,
    id: string,
    missing: 'FLOW_NOT_FOUND' | 'SESSION_NOT_FOUND',
  ): Promise<SessionDoc> {
    const doc = await this.d.sessions.findOne({ _id: id, tenantId }).lean<SessionDoc>().exec();
    if (!doc) throw new LoginFailure(missing, 'no such session for this tenant');
    return doc;
  }

  async #state(tenantId: string, id: string): Promise<LoginState> {
    return toLoginState(await this.#load(tenantId, id, 'SESSION_NOT_FOUND'));
  }

  /** Loads an unfinished flow in one of `allowed` statuses. @throws LoginFailure */
  async #openFlow(
    tenantId: string,
    id: string,
    allowed: SessionDoc['status'][],
  ): Promise<SessionDoc> {
    const doc = await this.#load(tenantId, id, 'FLOW_NOT_FOUND');
    if (LOGIN_STATUSES.includes(doc.status) && isExpired(doc)) {
      await this.#expire(id, 'FLOW_EXPIRED');
      throw new LoginFailure('FLOW_EXPIRED', 'the login flow has expired');
    }
    if (doc.status === 'expired')
      throw new LoginFailure('FLOW_EXPIRED', 'the login flow has expired');
    if (!allowed.includes(doc.status)) {
      throw new LoginFailure('FLOW_STATE_INVALID', `the flow is ${doc.status}`);
    }
    return doc;
  }

  async #expire(id: string, reason: string): Promise<void> {
    await this.d.sessions.updateOne(
      { _id: id, status: { $in: LOGIN_STATUSES } },
      { $set: { status: 'expired', endReason: reason }, $unset: { login: 1 } },
    );
    await this.#drop(id);
  }

  async #lock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.#locks.set(id, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    }
  }

  async #onLoginToken(id: string): Promise<void> {
    try {
      await this.#lock(id, async () => {
        const doc = await this.d.sessions.findById(id).lean<SessionDoc>().exec();
        const live = this.#live.get(id);
        if (!doc || doc.status !== 'pending' || !live) return;
        await this.#exportQr(doc, live.client);
      });
    } catch (err) {
      this.#log.warn({ sessionId: id, reason: toLoginFailure(err).reason }, 'qr acceptance failed');
    }
  }

  /** auth.exportLoginToken: stores a new token, or completes the login once accepted. */
  async #exportQr(doc: SessionDoc, client: TelegramClient): Promise<LoginState> {
    let res: Api.auth.TypeLoginToken;
    try {
      res = await invokeQuiet(
        client,
        new Api.auth.ExportLoginToken({
          apiId: client.apiId,
          apiHash: client.apiHash,
          exceptIds: [],
        }),
      );
      if (res instanceof Api.auth.LoginTokenMigrateTo) {
        await (client as unknown as { _switchDC(dc: number): Promise<void> })._switchDC(res.dcId);
        res = await invokeQuiet(client, new Api.auth.ImportLoginToken({ token: res.token }));
      }
    } catch (err) {
      if (telegramErrorName(err) === 'SESSION_PASSWORD_NEEDED') {
        return this.#toPassword(doc, client);
      }
      throw this.#fail(err, 'exportLoginToken', doc._id);
    }
    if (res instanceof Api.auth.LoginTokenSuccess) {
      return this.#complete(doc, client, res.authorization);
    }
    const token = res as Api.auth.LoginToken;
    await this.d.sessions.updateOne(
      { _id: doc._id, status: 'pending' },
      {
        $set: {
          'login.qr': {
            token: Buffer.from(token.token).toString('base64url'),
            expiresAt: token.expires * 1000,
          },
          'login.secret': this.#sealFlow(doc._id, client, doc),
        },
      },
    );
    return this.#state(doc.tenantId, doc._id);
  }

  /** On a replica that just attached a client: was the current token accepted meanwhile? */
  async #checkAccepted(
    doc: SessionDoc,
    client: TelegramClient,
    token: string,
  ): Promise<LoginState | undefined> {
    try {
      const res = await invokeQuiet(
        client,
        new Api.auth.ImportLoginToken({ token: Buffer.from(token, 'base64url') }),
      );
      if (res instanceof Api.auth.LoginTokenSuccess) {
        return await this.#complete(doc, client, res.authorization);
      }
    } catch (err) {
      if (telegramErrorName(err) === 'SESSION_PASSWORD_NEEDED') {
        return this.#toPassword(doc, client);
      }
      // Not accepted (or not supported): the next export tells.
    }
    return undefined;
  }

  /** SESSION_PASSWORD_NEEDED: the flow waits for the 2FA password. */
  async #toPassword(doc: SessionDoc, client: TelegramClient): Promise<LoginState> {
    let hint = '';
    let hasRecovery = false;
    try {
      const pwd = await invokeQuiet(client, new Api.account.GetPassword());
      hint = pwd.hint ?? '';
      hasRecovery = Boolean(pwd.hasRecovery);
    } catch (err) {
      throw this.#fail(err, 'getPassword', doc._id);
    }
    await this.d.sessions.updateOne(
      { _id: doc._id, status: { $in: ['pending', 'awaiting_code'] } },
      {
        $set: {
          status: 'awaiting_password',
          'login.password': { hint, hasRecovery },
          'login.secret': this.#sealFlow(doc._id, client, doc),
        },
        $unset: { 'login.qr': 1, 'login.code': 1 },
      },
    );
    this.#log.info({ sessionId: doc._id }, 'login needs the 2FA password');
    return this.#state(doc.tenantId, doc._id);
  }

  /** The account is authorized: store it, hand it to the connector, replace older sessions. */
  async #complete(
    doc: SessionDoc,
    client: TelegramClient,
    auth: Api.auth.TypeAuthorization,
  ): Promise<LoginState> {
    if (!(auth instanceof Api.auth.Authorization)) {
      await this.#expire(doc._id, 'SIGN_UP_REQUIRED');
      throw new LoginFailure('PHONE_NUMBER_INVALID', 'the phone number has no Telegram account');
    }
    const u = auth.user as Api.User;
    const user: TelegramUserDoc = {
      id: u.id.toString(),
      ...(u.phone ? { phone: `+${u.phone}` } : doc.phone ? { phone: doc.phone } : {}),
      ...(u.firstName ? { firstName: u.firstName } : {}),
      ...(u.lastName ? { lastName: u.lastName } : {}),
      ...(u.username ? { username: u.username } : {}),
    };
    const sealed = this.d.keyring.seal(saveSession(client), doc._id);
    // The account's update state at login: the connector starts from it with
    // updates.getDifference, so a message that arrives between this moment and
    // the connector's first connection is recovered, not skipped
    // (https://core.telegram.org/api/updates#recovering-gaps).
    const st = await invokeQuiet(client, new Api.updates.GetState());
    const updateState = { pts: st.pts, qts: st.qts, date: st.date, seq: st.seq, channels: {} };
    const now = new Date();
    const updated = await this.d.sessions
      .findOneAndUpdate(
        { _id: doc._id, status: { $in: LOGIN_STATUSES } },
        {
          $set: {
            status: 'connected',
            telegramUser: user,
            ...(user.phone ? { phone: user.phone } : {}),
            sessionSecret: sealed,
            dcId: client.session.dcId,
            updateState,
            connectedAt: now,
            lastActivityAt: now,
          },
          $unset: { login: 1, loginExpiresAt: 1 },
          $inc: { eventSequence: 1 },
        },
        { returnDocument: 'after' },
      )
      .lean<SessionDoc>()
      .exec();
    // The connector takes the auth key over: no second live connection on it.
    await this.#drop(doc._id);
    if (!updated) return this.#state(doc.tenantId, doc._id);
    this.d.metrics?.flowsCompleted.inc({ method: updated.method });
    this.#log.info(
      { sessionId: doc._id, tenantId: doc.tenantId, agentId: doc.agentId, userId: user.id },
      'login completed',
    );
    await this.d.events.publish({
      type: EventType.SessionAuthorized,
      tenantId: updated.tenantId,
      agentId: updated.agentId,
      sessionId: updated._id,
      sequence: updated.eventSequence,
      status: SessionStatus.CONNECTED,
      user: protoUser(user),
    });
    await this.#replaceOlder(updated);
    return toLoginState(updated);
  }

  /** One live session per agent (seed 000): log out the agent's other sessions. */
  async #replaceOlder(current: SessionDoc): Promise<void> {
    const older = await this.d.sessions
      .find({
        tenantId: current.tenantId,
        agentId: current.agentId,
        _id: { $ne: current._id },
        status: { $in: AUTHORIZED_STATUSES },
      })
      .lean<SessionDoc[]>()
      .exec();
    for (const doc of older) {
      this.#log.info({ sessionId: doc._id, by: current._id }, 'replacing older session');
      await this.#logOutSession(doc, 'replaced');
    }
  }

  /**
   * Marks an authorized session logged out (secret wiped), publishes
   * `session_logged_out` (the connector drops it), then calls auth.logOut at
   * Telegram with the old key. A Telegram failure is logged, not thrown.
   */
  async #logOutSession(doc: SessionDoc, reason: string): Promise<void> {
    const updated = await this.d.sessions
      .findOneAndUpdate(
        { _id: doc._id, status: { $in: AUTHORIZED_STATUSES } },
        {
          $set: { status: 'logged_out', loggedOutAt: new Date(), endReason: reason },
          $unset: { sessionSecret: 1 },
          $inc: { eventSequence: 1 },
        },
        { returnDocument: 'after' },
      )
      .lean<SessionDoc>()
      .exec();
    if (!updated) return;
    await this.d.events.publish({
      type: EventType.SessionLoggedOut,
      tenantId: updated.tenantId,
      agentId: updated.agentId,
      sessionId: updated._id,
      sequence: updated.eventSequence,
      status: SessionStatus.LOGGED_OUT,
      reason,
      ...(doc.telegramUser ? { user: protoUser(doc.telegramUser) } : {}),
    });
    if (!doc.sessionSecret) return;
    let client: TelegramClient | undefined;
    try {
      client = await this.d.telegram.open(this.d.keyring.open(doc.sessionSecret, doc._id));
      await invokeQuiet(client, new Api.auth.LogOut());
      this.#log.info({ sessionId: doc._id, reason }, 'logged out at Telegram');
    } catch (err) {
      this.#log.warn(
        { sessionId: doc._id, telegramError: telegramErrorName(err) ?? (err as Error)?.message },
        'auth.logOut at Telegram failed; the session is logged out here',
      );
    } finally {
      if (client) await this.d.telegram.close(client);
    }
  }
}

function checkIds(tenantId: string, agentId: string): void {
  if (!ID_TOKEN.test(tenantId)) throw new LoginFailure('INVALID_ARGUMENT', 'tenant_id is invalid');
  if (!ID_TOKEN.test(agentId)) {
    throw new LoginFailure('INVALID_ARGUMENT', 'agent_id must be 1-64 characters of [A-Za-z0-9_-]');
  }
}

function isExpired(doc: SessionDoc): boolean {
  return doc.loginExpiresAt !== undefined && doc.loginExpiresAt.getTime() <= Date.now();
}

function phoneDigits(doc: SessionDoc): string {
  return (doc.phone ?? '').replace(/^\+/, '');
}

function codeFields(sent: Api.auth.SentCode): Pick<LoginData, 'phoneCodeHash' | 'code'> {
  const { type, length } = sentCodeType(sent.type);
  return {
    phoneCodeHash: sent.phoneCodeHash,
    code: { type, nextType: nextCodeType(sent.nextType), timeout: sent.timeout ?? 0, length },
  };
}
