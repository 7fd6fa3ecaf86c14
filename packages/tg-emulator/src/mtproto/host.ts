/**
 * What a {@link MtprotoConnection} needs from the server that owns it
 * (implemented by MtprotoServer in src/server.ts).
 */
import type { AuthKeyStore } from '../auth-keys.js';
import type { ApiHandler, AuthKeyRecord, ServerCounters } from '../rpc.js';
import type { DcAddress } from './config.js';
import type { MtprotoConnection } from './connection.js';
import type { HandshakeContext, NewAuthKey } from './handshake.js';
import type { SaltStore, Session } from './session.js';

/** Minimal logger (console and pino both fit). */
export interface MtprotoLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Extra MTProto-level statistics beyond {@link ServerCounters}. */
export interface MtprotoStats {
  /** Transport errors sent (e.g. -404 for unknown auth keys). */
  transportErrors: number;
  /** TCP connections refused by refuseConnectionsFor. */
  connectionsRefused: number;
  /** Connections closed by ping_delay_disconnect timeouts. */
  pingTimeouts: number;
  /** bad_server_salt notifications sent. */
  badServerSalts: number;
  /** bad_msg_notification messages sent (msg_id / seqno problems). */
  badMsgNotifications: number;
  /** Answers and pushes sent gzip_packed. */
  gzipPacked: number;
  /** msgs_ack messages received from clients. */
  acksReceived: number;
}

export interface ConnectionHost {
  readonly authKeys: AuthKeyStore;
  readonly handler: ApiHandler;
  readonly salts: SaltStore;
  readonly counters: ServerCounters;
  readonly stats: MtprotoStats;
  readonly handshakeContext: HandshakeContext;
  readonly dcAddress: DcAddress;
  readonly latencyMs: number;
  readonly log: MtprotoLogger;
  /** Gets or creates the session (auth key id, client session_id). */
  session(authKeyId: string, sessionId: bigint): Session;
  /** Deletes a session; returns whether it existed. */
  destroySession(authKeyId: string, sessionId: bigint): boolean;
  /** Stores a key produced by the DH exchange. */
  authKeyCreated(key: NewAuthKey): void;
  /** The connection now uses `rec` (index by auth key). */
  bindAuthKey(conn: MtprotoConnection, rec: AuthKeyRecord): void;
  /** The connection became update-receiving. */
  updatesEnabled(conn: MtprotoConnection): void;
  /** Live update-receiving connections on the key other than `conn`. */
  otherUpdateConnections(conn: MtprotoConnection, authKeyId: string): MtprotoConnection[];
  /** Records an AUTH_KEY_DUPLICATED event. */
  authKeyDuplicated(conn: MtprotoConnection, others: MtprotoConnection[]): void;
  /** Arms (or re-arms) the ping_delay_disconnect deadline, unix ms. */
  setPingDeadline(conn: MtprotoConnection, at: number): void;
  /** The connection closed (either side). */
  connectionClosed(conn: MtprotoConnection): void;
  /** Flushes `conn`'s queued messages soon (one shared setImmediate for every connection). */
  scheduleFlush(conn: MtprotoConnection): void;
}
