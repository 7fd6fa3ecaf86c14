/**
 * The auth service's part of a session document: the `login` sub-document
 * of an unfinished flow, and conversion of a document into the gRPC
 * LoginState.
 */
import type { CodeType } from '@tgbridge/proto/auth/v1/auth';
import { LoginMethod, type LoginState, type SentCode } from '@tgbridge/proto/auth/v1/auth';
import { SessionStatus, type User } from '@tgbridge/proto/common/v1/common';
import type { SessionDoc, SessionStatusName, TelegramUserDoc } from '@tgbridge/sessions';
import { loginUrl, qrPngDataUrl } from '../infra/qr.js';

/** Statuses of an unfinished login. */
export const LOGIN_STATUSES: SessionStatusName[] = [
  'pending',
  'awaiting_code',
  'awaiting_password',
];
/** Statuses of an authorized session. */
export const AUTHORIZED_STATUSES: SessionStatusName[] = ['connected', 'disconnected'];

/**
 * `SessionDoc.login` while a flow is unfinished. `secret` is the sealed JSON
 * `{ session, apiHash? }` (aad = session id): the temporary MTProto session
 * string and the optional per-account api_hash.
 */
export interface LoginData {
  secret: string;
  apiId?: number;
  /** Phone flows: Telegram's phone_code_hash (bound to the temp auth key). */
  phoneCodeHash?: string;
  /** Phone flows: how the current code was sent. */
  code?: { type: CodeType; nextType: CodeType; timeout: number; length: number };
  /** QR flows: the current token (base64url) and its expiry (ms since epoch). */
  qr?: { token: string; expiresAt: number };
  /** AWAITING_PASSWORD: the 2FA hint. */
  password?: { hint: string; hasRecovery: boolean };
}

/** Secret part of a flow, sealed into `LoginData.secret`. */
export interface FlowSecret {
  session: string;
  apiHash?: string;
}

const STATUS: Record<SessionStatusName, SessionStatus> = {
  pending: SessionStatus.PENDING,
  awaiting_code: SessionStatus.AWAITING_CODE,
  awaiting_password: SessionStatus.AWAITING_PASSWORD,
  connected: SessionStatus.CONNECTED,
  disconnected: SessionStatus.DISCONNECTED,
  expired: SessionStatus.EXPIRED,
  logged_out: SessionStatus.LOGGED_OUT,
};

/** SessionStatus enum of a status name. */
export function statusEnum(name: SessionStatusName): SessionStatus {
  return STATUS[name];
}

/** `+989123456789` → `+989***789` (seed 004). */
export function maskPhone(phone: string | undefined): string | undefined {
  if (!phone) return undefined;
  const digits = phone.replace(/[^0-9]/g, '');
  if (digits.length < 7) return `+${'*'.repeat(digits.length)}`;
  return `+${digits.slice(0, 3)}***${digits.slice(-3)}`;
}

/** The proto User of a stored Telegram user. */
export function protoUser(u: TelegramUserDoc): User {
  return {
    id: u.id,
    firstName: u.firstName,
    lastName: u.lastName,
    username: u.username,
    phone: u.phone,
    isBot: false,
  };
}

function secondsUntil(ms: number, now: number): number {
  return Math.max(0, Math.ceil((ms - now) / 1000));
}

/** The LoginState of a session document (renders the QR PNG while a QR flow is pending). */
export async function toLoginState(doc: SessionDoc, now = Date.now()): Promise<LoginState> {
  const login = (doc.login ?? undefined) as LoginData | undefined;
  const open = LOGIN_STATUSES.includes(doc.status);
  const phone = doc.telegramUser?.phone ?? doc.phone;
  const state: LoginState = {
    sessionId: doc._id,
    tenantId: doc.tenantId,
    agentId: doc.agentId,
    status: statusEnum(doc.status),
    method: doc.method === 'qr' ? LoginMethod.QR : LoginMethod.PHONE,
    qr: undefined,
    code: undefined,
    password: undefined,
    user: doc.telegramUser ? protoUser(doc.telegramUser) : undefined,
    phone,
    phoneMasked: maskPhone(phone),
    expiresAt: open && doc.loginExpiresAt ? doc.loginExpiresAt : undefined,
    expiresIn: open && doc.loginExpiresAt ? secondsUntil(doc.loginExpiresAt.getTime(), now) : 0,
    lastActivity: doc.lastActivityAt ?? undefined,
    createdAt: doc.createdAt ?? undefined,
  };
  if (doc.status === 'pending' && login?.qr) {
    const url = loginUrl(Buffer.from(login.qr.token, 'base64url'));
    state.qr = {
      url,
      pngDataUrl: await qrPngDataUrl(url),
      expiresAt: new Date(login.qr.expiresAt),
      expiresIn: secondsUntil(login.qr.expiresAt, now),
    };
  }
  if (doc.status === 'awaiting_code' && login?.code) {
    const sent: SentCode = { ...login.code };
    state.code = sent;
  }
  if (doc.status === 'awaiting_password') {
    state.password = {
      hint: login?.password?.hint ?? '',
      hasRecovery: login?.password?.hasRecovery ?? false,
    };
  }
  return state;
}
