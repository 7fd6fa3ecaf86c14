/**
 * The seam between the MTProto layer (src/mtproto/, src/server.ts: transports,
 * auth key exchange, encryption, sessions, containers) and the Telegram API
 * layer (src/api/, src/world/: users, chats, messages, updates, login).
 *
 * The MTProto layer decrypts a message, unwraps invokeWithLayer /
 * initConnection / invokeWithoutUpdates / invokeAfterMsg, answers the
 * MTProto-level methods itself (ping, ping_delay_disconnect, msgs_ack,
 * help.getConfig, help.getNearestDc, destroy_session, get_future_salts) and
 * hands every other request to an {@link ApiHandler}. Whatever the handler
 * returns is serialized into an rpc_result (gzip_packed when large); an
 * {@link RpcError} thrown by it becomes an rpc_error.
 *
 * TL objects are GramJS's own classes (`Api.*` from the `telegram` package),
 * parsed with its BinaryReader and serialized with `getBytes()`.
 */
import type { Api } from 'telegram';

/** A parsed TL request (a GramJS `Api.*` request instance). */
export type TlRequest = Api.AnyRequest;
/** A TL object the server sends (a GramJS `Api.*` constructor instance). */
export type TlObject = { getBytes(): Buffer; className: string };

/**
 * What a handler may return for an rpc_result:
 * - a TL object;
 * - an array of TL objects (serialized as `Vector<T>`);
 * - `{ vectorOfLong: bigint[] }` / `{ vectorOfInt: number[] }` for vectors of bare numbers;
 * - a boolean (serialized as boolTrue / boolFalse).
 */
export type RpcResultValue =
  TlObject | TlObject[] | boolean | { vectorOfLong: bigint[] } | { vectorOfInt: number[] };

/**
 * A Telegram RPC error (rpc_error): `code` is the HTTP-like error code
 * (303, 400, 401, 403, 406, 420, 500), `errorMessage` Telegram's name,
 * e.g. `PHONE_CODE_INVALID`, `FLOOD_WAIT_30`, `AUTH_KEY_UNREGISTERED`.
 * Source: https://core.telegram.org/api/errors
 */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    readonly errorMessage: string,
  ) {
    super(`${code} ${errorMessage}`);
    this.name = 'RpcError';
  }
}

/** A permanent authorization key, created by the DH exchange (https://core.telegram.org/mtproto/auth_key). */
export interface AuthKeyRecord {
  /** auth_key_id: the lower 64 bits of SHA1(auth_key), as a decimal string of the signed 64-bit value. */
  readonly id: string;
  /** The 256-byte auth key. */
  readonly key: Buffer;
  /** Unix seconds when the key was created. */
  readonly createdAt: number;
  /** Telegram user id this key is logged in as; undefined until a login completes. */
  userId?: number;
  /** API layer from invokeWithLayer; kept with the key because GramJS does not resend it after a reconnect. */
  layer?: number;
  /** initConnection parameters (device, app version, api_id...), kept with the key. */
  client?: {
    apiId: number;
    deviceModel: string;
    systemVersion: string;
    appVersion: string;
    langCode: string;
  };
}

/** A live client connection (one TCP socket and its current MTProto session). */
export interface ClientConnection {
  /** Process-unique connection id. */
  readonly id: number;
  /** Remote address:port, for listing connections. */
  readonly remote: string;
  /** The auth key in use, once the first encrypted message arrived. */
  readonly authKey: AuthKeyRecord | undefined;
  /** MTProto session_id of the client, decimal string. */
  readonly sessionId: string | undefined;
  /** True once the connection sent a request that makes it an update-receiving ("main") session. */
  readonly receivesUpdates: boolean;
  /** Pushes an Updates object (updates, updateShort, updateShortMessage, ...) as a content message. */
  pushUpdates(updates: TlObject): void;
  /** Closes the socket (the client sees a dropped connection). */
  close(): void;
}

/** One request handed from the MTProto layer to the API layer. */
export interface RpcCall {
  readonly request: TlRequest;
  readonly connection: ClientConnection;
  /** The auth key of the connection (always set for encrypted requests). */
  readonly authKey: AuthKeyRecord;
  /** True when the request was wrapped in invokeWithoutUpdates. */
  readonly withoutUpdates: boolean;
}

/** Implemented by the API layer. */
export interface ApiHandler {
  /**
   * Executes one request. Throws {@link RpcError} for Telegram errors; any
   * other exception becomes `500 INTERNAL`.
   */
  handle(call: RpcCall): Promise<RpcResultValue>;
  /** Called after a connection closed (to forget QR waiters and so on). Optional. */
  connectionClosed?(connection: ClientConnection): void;
}

/** Counters the MTProto layer keeps for the control API and for tests. */
export interface ServerCounters {
  /** TCP connections accepted since start. */
  connectionsAccepted: number;
  /** Auth keys created by the DH exchange since start. */
  authKeysCreated: number;
  /** Times AUTH_KEY_DUPLICATED was raised (one auth key used by two live update-receiving connections). */
  authKeyDuplicated: number;
  /** Update containers pushed to connections. */
  updatesPushed: number;
  /** RPC requests handled (including errors). */
  rpcCalls: number;
}

/**
 * What the MTProto server (src/server.ts) offers the API and control layers.
 * Faults that live at the connection level are here; Telegram-level faults
 * (FLOOD_WAIT, revoked keys, deactivated users) are the API layer's.
 */
export interface MtprotoServerApi {
  /** The TCP port actually bound. */
  readonly port: number;
  /** Live connections, optionally only those whose auth key is logged in as `userId`. */
  connections(userId?: number): ClientConnection[];
  /**
   * Live update-receiving connections of `userId` (indexed: the push path
   * calls it once per recipient). Callers must not modify the array.
   */
  updateConnections(userId: number): readonly ClientConnection[];
  /** Closes matching live connections. Returns how many were closed. */
  dropConnections(filter?: { userId?: number; authKeyId?: string }): number;
  /** Refuses (immediately closes) new TCP connections for `ms` milliseconds. */
  refuseConnectionsFor(ms: number): void;
  /** Delays every outgoing packet by `ms` milliseconds (0 turns it off). */
  setLatency(ms: number): void;
  readonly counters: ServerCounters;
}
