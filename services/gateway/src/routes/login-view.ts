/**
 * Maps the auth service's LoginState onto seed 000's JSON fields
 * (`connected`, `phone`, `user_id`, `last_activity`, `qr_code`, `expires_in`)
 * plus the added ones (`status`, `requires_password`, `phone_masked`, ...).
 */
import { codeTypeToJSON, type LoginState, type SentCode } from '@tgbridge/proto/auth/v1/auth';
import { SessionStatus, sessionStatusToJSON } from '@tgbridge/proto/common/v1/common';

/** `SESSION_STATUS_AWAITING_CODE` → `awaiting_code`. */
export function statusName(status: SessionStatus): string {
  return sessionStatusToJSON(status)
    .replace(/^SESSION_STATUS_/, '')
    .toLowerCase();
}

/** `CODE_TYPE_SMS` → `sms`; UNSPECIFIED → null. */
export function codeTypeName(type: number): string | null {
  const name = codeTypeToJSON(type).replace(/^CODE_TYPE_/, '');
  return name === 'UNSPECIFIED' || name === 'UNRECOGNIZED' ? null : name.toLowerCase();
}

/** Telegram user id as a JSON number when exact, else as a string; null when unknown. */
export function userId(id: string | undefined): number | string | null {
  if (!id) return null;
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : id;
}

/** Fields describing the code delivery of an AWAITING_CODE flow. */
export function codeView(code: SentCode | undefined): Record<string, unknown> {
  return {
    code_type: code ? codeTypeName(code.type) : null,
    next_type: code ? codeTypeName(code.nextType) : null,
    timeout: code?.timeout ?? 0,
    code_length: code?.length ?? 0,
  };
}

/** Full status view (GET status, sessions list). */
export function stateView(state: LoginState): Record<string, unknown> {
  const connected = state.status === SessionStatus.CONNECTED;
  return {
    connected,
    status: statusName(state.status),
    session_id: state.sessionId,
    agent_id: state.agentId,
    phone: state.user?.phone ?? state.phone ?? null,
    phone_masked: state.phoneMasked ?? null,
    user_id: userId(state.user?.id),
    username: state.user?.username ?? null,
    first_name: state.user?.firstName ?? null,
    last_name: state.user?.lastName ?? null,
    last_activity: state.lastActivity ? state.lastActivity.toISOString() : null,
    requires_password: state.status === SessionStatus.AWAITING_PASSWORD,
    password_hint: state.password?.hint || null,
    qr_code: state.qr?.pngDataUrl || null,
    qr_url: state.qr?.url || null,
    qr_expires_in: state.qr ? state.qr.expiresIn : null,
    expires_in: state.expiresIn,
    ...(state.status === SessionStatus.AWAITING_CODE ? codeView(state.code) : {}),
  };
}

/** verify-code / verify-password success body: seed 000's two shapes. */
export function verifyView(state: LoginState): Record<string, unknown> {
  if (state.status === SessionStatus.CONNECTED) {
    return {
      success: true,
      connected: true,
      phone: state.user?.phone ?? state.phone ?? null,
      user_id: userId(state.user?.id),
      session_id: state.sessionId,
      status: statusName(state.status),
    };
  }
  return {
    success: true,
    connected: false,
    requires_password: state.status === SessionStatus.AWAITING_PASSWORD,
    session_id: state.sessionId,
    status: statusName(state.status),
    password_hint: state.password?.hint || null,
  };
}
