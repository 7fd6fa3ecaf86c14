/**
 * Shared state of the API layer: the world, the auth keys, the MTProto
 * server (for connections), login state, faults, counters and options.
 */
import type { World } from '../world/world.js';
import type { AuthKeyStore } from '../auth-keys.js';
import type { ClientConnection, MtprotoServerApi } from '../rpc.js';
import type { FaultStore } from './faults.js';
import type { PasswordRecord } from '../world/types.js';

/** Tunables of the API layer. */
export interface ApiOptions {
  /** Data center id announced in photos/documents (must match the MTProto layer's this_dc). */
  dcId: number;
  /** Login code lifetime, seconds (default 300). */
  codeTtlSeconds: number;
  /** QR login token lifetime, seconds (default 30). */
  loginTokenTtlSeconds: number;
  /** Maximum updates per updates.getDifference answer before it becomes differenceSlice (default 100). */
  differenceLimit: number;
  /** A gap larger than this many pts answers differenceTooLong (default 10000). */
  differenceTooLongAfter: number;
}

/** A login code "delivered" to a phone. */
export interface SentCode {
  phone: string;
  code: string;
  phoneCodeHash: string;
  /** auth_key_id the code was requested on. */
  authKeyId: string;
  /** How it was "delivered": app → sms → call. */
  type: 'app' | 'sms' | 'call';
  /** ms since epoch. */
  sentAt: number;
  expiresAt: number;
}

/** A QR login token (https://core.telegram.org/api/qr-login). */
export interface LoginToken {
  token: Buffer;
  authKeyId: string;
  /** The connection that exported it; gets updateLoginToken when accepted. */
  connection: ClientConnection;
  /** ms since epoch. */
  expiresAt: number;
  acceptedBy?: number;
}

/** A pending SRP exchange (account.getPassword → auth.checkPassword). */
export interface SrpSession {
  userId: number;
  b: bigint;
  B: bigint;
  /** The password record the exchange was made for. */
  password: PasswordRecord;
  /** ms since epoch. */
  expiresAt: number;
}

/** Mutable login-related state (not persisted except banned phones / revoked keys / sign-up flag). */
export interface LoginState {
  /** Current code per phone. */
  codes: Map<string, SentCode>;
  /** Last code per phone, kept for the control API even after use. */
  lastCodes: Map<string, SentCode>;
  /** auth_key_id → user id whose 2FA password is awaited. */
  pendingPassword: Map<string, number>;
  /** srp_id (decimal) → exchange. */
  srp: Map<string, SrpSession>;
  /** base64url token → token. */
  loginTokens: Map<string, LoginToken>;
  /** auth_key_id → error to answer once (SESSION_REVOKED). */
  revokedKeys: Map<string, string>;
  bannedPhones: Set<string>;
  /** Whether unknown numbers may sign up (auth.authorizationSignUpRequired) or get PHONE_NUMBER_UNOCCUPIED. */
  signUpAllowed: boolean;
}

/** Counters of the API layer (the control API adds the MTProto server's). */
export interface ApiCounters {
  /** Requests per GramJS className. */
  calls: Record<string, number>;
  /** Errors per Telegram error message. */
  errors: Record<string, number>;
  codesSent: number;
  logins: number;
  messagesSent: number;
  /** Updates objects pushed by the API layer. */
  updatesPushed: number;
}

/** Everything handlers need. */
export interface ApiContext {
  world: World;
  authKeys: AuthKeyStore;
  /** The MTProto server once started. */
  server(): MtprotoServerApi | undefined;
  options: ApiOptions;
  login: LoginState;
  faults: FaultStore;
  counters: ApiCounters;
}

/** Fresh login state. */
export function newLoginState(): LoginState {
  return {
    codes: new Map(),
    lastCodes: new Map(),
    pendingPassword: new Map(),
    srp: new Map(),
    loginTokens: new Map(),
    revokedKeys: new Map(),
    bannedPhones: new Set(),
    signUpAllowed: false,
  };
}

/** Fresh counters. */
export function newCounters(): ApiCounters {
  return { calls: {}, errors: {}, codesSent: 0, logins: 0, messagesSent: 0, updatesPushed: 0 };
}
