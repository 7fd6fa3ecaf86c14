/**
 * The emulator's MTProto 2.0 server: accepts TCP connections from unmodified
 * GramJS (and other MTProto clients) on 127.0.0.1, creates auth keys, runs
 * the encrypted layer and hands Telegram API requests to an {@link ApiHandler}.
 *
 * Sources: https://core.telegram.org/mtproto (transports, auth_key,
 * description, service_messages).
 */
import { createPrivateKey } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AuthKeyStore } from './auth-keys.js';
import type {
  ApiHandler,
  AuthKeyRecord,
  ClientConnection,
  MtprotoServerApi,
  ServerCounters,
} from './rpc.js';
import type { DcAddress } from './mtproto/config.js';
import { MtprotoConnection } from './mtproto/connection.js';
import type { HandshakeContext, NewAuthKey } from './mtproto/handshake.js';
import type { ConnectionHost, MtprotoLogger, MtprotoStats } from './mtproto/host.js';
import { rsaKeyPairFromPrivatePem } from './mtproto/rsa.js';
import { SaltStore, Session } from './mtproto/session.js';

export {
  generateRsaKeyPair,
  loadOrCreateRsaKeyPair,
  rsaFingerprint,
  rsaKeyPairFromPrivatePem,
  rsaPublicComponents,
  type RsaKeyPair,
} from './mtproto/rsa.js';
export type { MtprotoLogger, MtprotoStats } from './mtproto/host.js';
export { MtprotoConnection } from './mtproto/connection.js';

/** Options of {@link MtprotoServer}. */
export interface MtprotoServerOptions {
  /** Bind address; default `127.0.0.1`. Also advertised in help.getConfig dcOptions. */
  host?: string;
  /** TCP port; 0 (default) picks a free one in 20000..32767 (GramJS StringSession stores ports as int16). */
  port?: number;
  /** The DC id this server plays (Config.thisDc); default 2. */
  dcId?: number;
  /** PEM of the RSA private key (see {@link generateRsaKeyPair} / {@link loadOrCreateRsaKeyPair}). */
  rsaPrivateKeyPem: string;
  /** Auth key table (shared with the API layer). */
  authKeys: AuthKeyStore;
  /** Executes Telegram API requests. */
  handler: ApiHandler;
  /** Logger; default: only errors, to the console. */
  logger?: MtprotoLogger;
}

const NO_CONNECTIONS: readonly MtprotoConnection[] = Object.freeze([]);

/** Lowest port tried when `port: 0` asks for any free port. */
const FREE_PORT_MIN = 20000;

/** Sessions idle for longer than this are forgotten, ms. */
const SESSION_IDLE_MS = 15 * 60 * 1000;

const quietLogger: MtprotoLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: (m) => console.error(`[tg-emulator mtproto] ${m}`),
};

/**
 * MTProto server. `listen()` binds, `close()` stops and drops every
 * connection. Implements the connection-level faults of
 * {@link MtprotoServerApi} (drop, refuse, latency) and AUTH_KEY_DUPLICATED
 * detection.
 *
 * @example
 * const keys = generateRsaKeyPair();
 * const server = new MtprotoServer({ rsaPrivateKeyPem: keys.privateKeyPem, authKeys, handler });
 * await server.listen(); // server.port
 */
export class MtprotoServer implements MtprotoServerApi, ConnectionHost {
  readonly counters: ServerCounters = {
    connectionsAccepted: 0,
    authKeysCreated: 0,
    authKeyDuplicated: 0,
    updatesPushed: 0,
    rpcCalls: 0,
  };
  /** MTProto-level statistics not in {@link ServerCounters}. */
  readonly stats: MtprotoStats = {
    transportErrors: 0,
    connectionsRefused: 0,
    pingTimeouts: 0,
    badServerSalts: 0,
    badMsgNotifications: 0,
    gzipPacked: 0,
    acksReceived: 0,
  };
  readonly authKeys: AuthKeyStore;
  readonly handler: ApiHandler;
  readonly salts = new SaltStore();
  readonly handshakeContext: HandshakeContext;
  readonly log: MtprotoLogger;
  /** Outgoing packet delay, ms (see {@link setLatency}). */
  latencyMs = 0;
  /** Telegram fingerprint of the server key (signed 64-bit decimal). */
  readonly fingerprint: string;
  /** SPKI PEM of the server's public key (what clients configure). */
  readonly publicKeyPem: string;

  private readonly host: string;
  private readonly requestedPort: number;
  private readonly dcId: number;
  private server: Server | undefined;
  private boundPort = 0;
  private nextId = 1;
  private refuseUntil = 0;
  private readonly live = new Map<number, MtprotoConnection>();
  private readonly byKey = new Map<string, Set<MtprotoConnection>>();
  private readonly updateConns = new Map<string, Set<MtprotoConnection>>();
  private readonly sessions = new Map<string, Session>();
  private readonly pingWatch = new Set<MtprotoConnection>();
  /** userId → live update-receiving connections; rebuilt lazily after any change. */
  private userIndex: Map<number, MtprotoConnection[]> | undefined;
  /** Connections with queued messages, flushed together in one setImmediate. */
  private dirty: MtprotoConnection[] = [];
  private flushImmediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(opts: MtprotoServerOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.requestedPort = opts.port ?? 0;
    this.dcId = opts.dcId ?? 2;
    this.authKeys = opts.authKeys;
    this.handler = opts.handler;
    this.log = opts.logger ?? quietLogger;
    const pair = rsaKeyPairFromPrivatePem(opts.rsaPrivateKeyPem);
    this.fingerprint = pair.fingerprint;
    this.publicKeyPem = pair.publicKeyPem;
    this.handshakeContext = {
      rsaPrivateKey: createPrivateKey(pair.privateKeyPem),
      fingerprint: pair.fingerprint,
      dcId: this.dcId,
    };
    // Logins, logouts and revocations change a key's user in place, then call changed().
    this.authKeys.onChange(() => (this.userIndex = undefined));
  }

  /** The bound TCP port (0 before {@link listen}). */
  get port(): number {
    return this.boundPort;
  }

  /** Host, port and DC id as advertised in help.getConfig. */
  get dcAddress(): DcAddress {
    return { host: this.host, port: this.boundPort, dcId: this.dcId };
  }

  /**
   * Binds and starts accepting connections.
   * @throws Error when the port is taken or the bound port is > 32767.
   */
  async listen(): Promise<void> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    server.maxConnections = 100_000;
    const bind = (port: number): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: this.host, port, backlog: 4096 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    if (this.requestedPort !== 0) await bind(this.requestedPort);
    else {
      // The OS picks ephemeral ports above 32767, which StringSession cannot store:
      // try random free ports in [FREE_PORT_MIN, 32767] instead.
      for (let attempt = 0; ; attempt++) {
        const port = FREE_PORT_MIN + Math.floor(Math.random() * (32768 - FREE_PORT_MIN));
        try {
          await bind(port);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 200) throw err;
        }
      }
    }
    this.server = server;
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : 0;
    if (this.boundPort > 32767) {
      this.log.warn(`port ${this.boundPort} > 32767: GramJS StringSession cannot store it`);
    }
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const c of [...this.live.values()]) c.close();
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (Date.now() < this.refuseUntil) {
      this.stats.connectionsRefused++;
      socket.destroy();
      return;
    }
    this.counters.connectionsAccepted++;
    socket.setNoDelay(true);
    this.sockets.add(socket);
    const conn = new MtprotoConnection(this.nextId++, socket, this);
    this.live.set(conn.id, conn);
    socket.on('close', () => this.sockets.delete(socket));
  }

  // ---- MtprotoServerApi ------------------------------------------------------

  /** Live connections, optionally only those whose auth key is logged in as `userId`. */
  connections(userId?: number): ClientConnection[] {
    const out: ClientConnection[] = [];
    for (const c of this.live.values()) {
      if (userId === undefined || (c.authKey !== undefined && c.authKey.userId === userId))
        out.push(c);
    }
    return out;
  }

  /** Live update-receiving connections of `userId` (from an index rebuilt after changes). */
  updateConnections(userId: number): readonly MtprotoConnection[] {
    if (!this.userIndex) {
      const index = new Map<number, MtprotoConnection[]>();
      for (const set of this.updateConns.values()) {
        for (const c of set) {
          const u = c.authKey?.userId;
          if (u === undefined || c.closed) continue;
          const list = index.get(u);
          if (list) list.push(c);
          else index.set(u, [c]);
        }
      }
      this.userIndex = index;
    }
    return this.userIndex.get(userId) ?? NO_CONNECTIONS;
  }

  /**
   * Closes matching live connections (all when no filter is given; with both
   * fields, a connection must match both). Returns how many were closed.
   */
  dropConnections(filter?: { userId?: number; authKeyId?: string }): number {
    let n = 0;
    for (const c of [...this.live.values()]) {
      if (filter?.userId !== undefined && c.authKey?.userId !== filter.userId) continue;
      if (filter?.authKeyId !== undefined && c.authKey?.id !== filter.authKeyId) continue;
      c.close();
      n++;
    }
    return n;
  }

  /** Accepts and immediately destroys new TCP connections for `ms` milliseconds (0 stops refusing). */
  refuseConnectionsFor(ms: number): void {
    this.refuseUntil = ms > 0 ? Date.now() + ms : 0;
  }

  /** Delays every outgoing packet by `ms` milliseconds, preserving order (0 turns it off). */
  setLatency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  // ---- ConnectionHost --------------------------------------------------------

  session(authKeyId: string, sessionId: bigint): Session {
    const k = `${authKeyId}:${sessionId}`;
    let s = this.sessions.get(k);
    if (!s) {
      s = new Session(authKeyId, sessionId);
      this.sessions.set(k, s);
    }
    return s;
  }

  destroySession(authKeyId: string, sessionId: bigint): boolean {
    return this.sessions.delete(`${authKeyId}:${sessionId}`);
  }

  authKeyCreated(k: NewAuthKey): void {
    const rec: AuthKeyRecord = { id: k.id, key: k.key, createdAt: Math.floor(Date.now() / 1000) };
    this.salts.addInitial(k.id, k.salt);
    this.authKeys.add(rec);
    this.counters.authKeysCreated++;
  }

  bindAuthKey(conn: MtprotoConnection, rec: AuthKeyRecord): void {
    this.unindex(conn);
    conn.receivesUpdates = false;
    let set = this.byKey.get(rec.id);
    if (!set) this.byKey.set(rec.id, (set = new Set()));
    set.add(conn);
  }

  updatesEnabled(conn: MtprotoConnection): void {
    const id = conn.authKey!.id;
    let set = this.updateConns.get(id);
    if (!set) this.updateConns.set(id, (set = new Set()));
    set.add(conn);
    this.userIndex = undefined;
  }

  otherUpdateConnections(conn: MtprotoConnection, authKeyId: string): MtprotoConnection[] {
    const set = this.updateConns.get(authKeyId);
    if (!set) return [];
    const out: MtprotoConnection[] = [];
    for (const c of set) if (c !== conn && !c.closed) out.push(c);
    return out;
  }

  authKeyDuplicated(conn: MtprotoConnection, others: MtprotoConnection[]): void {
    this.counters.authKeyDuplicated++;
    this.log.warn(
      `AUTH_KEY_DUPLICATED on key ${conn.authKey?.id}: connection ${conn.id} (${conn.remote}) vs ${others.map((o) => `${o.id} (${o.remote})`).join(', ')}`,
    );
  }

  setPingDeadline(conn: MtprotoConnection, at: number): void {
    conn.pingDeadline = at;
    this.pingWatch.add(conn);
  }

  connectionClosed(conn: MtprotoConnection): void {
    this.live.delete(conn.id);
    this.pingWatch.delete(conn);
    this.unindex(conn);
    try {
      this.handler.connectionClosed?.(conn);
    } catch (err) {
      this.log.error(`connectionClosed handler failed: ${(err as Error)?.stack ?? String(err)}`);
    }
  }

  scheduleFlush(conn: MtprotoConnection): void {
    this.dirty.push(conn);
    this.flushImmediate ??= setImmediate(() => this.flushDirty());
  }

  private flushDirty(): void {
    this.flushImmediate = undefined;
    const list = this.dirty;
    this.dirty = [];
    for (const c of list) {
      try {
        c.flush();
      } catch (err) {
        this.log.error(
          `flush of connection ${c.id} failed: ${(err as Error)?.stack ?? String(err)}`,
        );
      }
    }
  }

  private unindex(conn: MtprotoConnection): void {
    const id = conn.authKey?.id;
    if (id === undefined) return;
    this.userIndex = undefined;
    const set = this.byKey.get(id);
    if (set) {
      set.delete(conn);
      if (set.size === 0) this.byKey.delete(id);
    }
    const up = this.updateConns.get(id);
    if (up) {
      up.delete(conn);
      if (up.size === 0) this.updateConns.delete(id);
    }
  }

  /** The shared 1 s timer: ping_delay_disconnect deadlines and idle session sweeping. */
  private tick(): void {
    const now = Date.now();
    for (const c of this.pingWatch) {
      if (c.pingDeadline > 0 && c.pingDeadline <= now) {
        this.pingWatch.delete(c);
        this.stats.pingTimeouts++;
        c.close();
      }
    }
    if (now % 60_000 < 1000) {
      for (const [k, s] of this.sessions)
        if (now - s.lastActive > SESSION_IDLE_MS) this.sessions.delete(k);
    }
  }
}
