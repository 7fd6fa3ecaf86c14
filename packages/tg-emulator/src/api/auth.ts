/**
 * Login by phone code: auth.sendCode, auth.resendCode, auth.signIn,
 * auth.signUp, auth.cancelCode, auth.logOut
 * (https://core.telegram.org/api/auth, /method/auth.sendCode ...).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { Api } from 'telegram';
import type { ApiContext, SentCode } from './context.js';
import type { RpcCall } from '../rpc.js';
import { RpcError } from '../rpc.js';
import { isValidPhone, normalizePhone, WorldError } from '../world/users.js';
import { completeLogin, logOutKey, requireUser } from './session.js';

const CODE_LENGTH = 5;

function sentCodeType(type: SentCode['type']): Api.auth.TypeSentCodeType {
  if (type === 'app') return new Api.auth.SentCodeTypeApp({ length: CODE_LENGTH });
  if (type === 'sms') return new Api.auth.SentCodeTypeSms({ length: CODE_LENGTH });
  return new Api.auth.SentCodeTypeCall({ length: CODE_LENGTH });
}

function nextType(type: SentCode['type']): Api.auth.TypeCodeType | undefined {
  if (type === 'app') return new Api.auth.CodeTypeSms();
  if (type === 'sms') return new Api.auth.CodeTypeCall();
  return undefined;
}

function sentCode(c: SentCode): Api.auth.SentCode {
  return new Api.auth.SentCode({
    type: sentCodeType(c.type),
    phoneCodeHash: c.phoneCodeHash,
    nextType: nextType(c.type),
    timeout: c.type === 'call' ? undefined : 60,
  });
}

/** Validates and normalizes a phone; throws 400 `PHONE_NUMBER_INVALID` / `PHONE_NUMBER_BANNED`. */
function checkPhone(ctx: ApiContext, raw: string): string {
  const phone = normalizePhone(raw);
  if (!isValidPhone(phone)) throw new RpcError(400, 'PHONE_NUMBER_INVALID');
  if (ctx.login.bannedPhones.has(phone)) throw new RpcError(400, 'PHONE_NUMBER_BANNED');
  return phone;
}

/** The live code of `phone` matching `hash` and the call's key; throws 400 `PHONE_CODE_EXPIRED` / `PHONE_CODE_HASH_EMPTY`. */
function liveCode(ctx: ApiContext, call: RpcCall, phone: string, hash: string): SentCode {
  if (!hash) throw new RpcError(400, 'PHONE_CODE_HASH_EMPTY');
  const c = ctx.login.codes.get(phone);
  if (!c || c.phoneCodeHash !== hash || c.authKeyId !== call.authKey.id)
    throw new RpcError(400, 'PHONE_CODE_EXPIRED');
  if (Date.now() > c.expiresAt) {
    ctx.login.codes.delete(phone);
    throw new RpcError(400, 'PHONE_CODE_EXPIRED');
  }
  return c;
}

/** auth.sendCode: "delivers" a 5-digit code (readable through the control API). */
export function sendCode(
  ctx: ApiContext,
  call: RpcCall,
  req: Api.auth.SendCode,
): Api.auth.SentCode {
  if (!req.apiId || req.apiId < 0 || !req.apiHash) throw new RpcError(400, 'API_ID_INVALID');
  const phone = checkPhone(ctx, req.phoneNumber);
  const now = Date.now();
  const code: SentCode = {
    phone,
    code: String(randomInt(0, 10 ** CODE_LENGTH)).padStart(CODE_LENGTH, '0'),
    phoneCodeHash: randomBytes(9).toString('hex'),
    authKeyId: call.authKey.id,
    type: 'app',
    sentAt: now,
    expiresAt: now + ctx.options.codeTtlSeconds * 1000,
  };
  ctx.login.codes.set(phone, code);
  ctx.login.lastCodes.set(phone, code);
  ctx.counters.codesSent += 1;
  return sentCode(code);
}

/** auth.resendCode: app → sms → call; after a call, 406 `SEND_CODE_UNAVAILABLE`. The code itself stays the same. */
export function resendCode(
  ctx: ApiContext,
  call: RpcCall,
  req: Api.auth.ResendCode,
): Api.auth.SentCode {
  const phone = checkPhone(ctx, req.phoneNumber);
  const c = liveCode(ctx, call, phone, req.phoneCodeHash);
  if (c.type === 'call') throw new RpcError(406, 'SEND_CODE_UNAVAILABLE');
  c.type = c.type === 'app' ? 'sms' : 'call';
  c.sentAt = Date.now();
  c.expiresAt = c.sentAt + ctx.options.codeTtlSeconds * 1000;
  ctx.counters.codesSent += 1;
  return sentCode(c);
}

/**
 * auth.signIn. Errors: 400 `PHONE_CODE_EMPTY`, `PHONE_CODE_INVALID`,
 * `PHONE_CODE_EXPIRED`, `PHONE_NUMBER_UNOCCUPIED`; 401 `SESSION_PASSWORD_NEEDED`;
 * 401 `USER_DEACTIVATED`. Unknown number with sign-up allowed:
 * `auth.authorizationSignUpRequired`.
 */
export function signIn(
  ctx: ApiContext,
  call: RpcCall,
  req: Api.auth.SignIn,
): Api.auth.TypeAuthorization {
  const phone = checkPhone(ctx, req.phoneNumber);
  if (!req.phoneCode) throw new RpcError(400, 'PHONE_CODE_EMPTY');
  const c = liveCode(ctx, call, phone, req.phoneCodeHash);
  if (req.phoneCode !== c.code) throw new RpcError(400, 'PHONE_CODE_INVALID');
  const user = ctx.world.users.byPhoneNumber(phone);
  if (!user) {
    if (!ctx.login.signUpAllowed) {
      ctx.login.codes.delete(phone);
      throw new RpcError(400, 'PHONE_NUMBER_UNOCCUPIED');
    }
    c.code = ''; // verified: only auth.signUp may use it now
    return new Api.auth.AuthorizationSignUpRequired({});
  }
  ctx.login.codes.delete(phone);
  if (user.deactivated) throw new RpcError(401, 'USER_DEACTIVATED');
  if (user.password) {
    ctx.login.pendingPassword.set(call.authKey.id, user.id);
    throw new RpcError(401, 'SESSION_PASSWORD_NEEDED');
  }
  return completeLogin(ctx, call, user);
}

/** auth.signUp after `authorizationSignUpRequired`. Errors: `PHONE_CODE_EXPIRED`, `PHONE_NUMBER_OCCUPIED`, `FIRSTNAME_INVALID`. */
export function signUp(
  ctx: ApiContext,
  call: RpcCall,
  req: Api.auth.SignUp,
): Api.auth.Authorization {
  const phone = checkPhone(ctx, req.phoneNumber);
  const c = liveCode(ctx, call, phone, req.phoneCodeHash);
  if (c.code !== '') throw new RpcError(400, 'PHONE_CODE_EXPIRED');
  if (ctx.world.users.byPhoneNumber(phone)) throw new RpcError(400, 'PHONE_NUMBER_OCCUPIED');
  try {
    const user = ctx.world.users.create({
      phone,
      firstName: req.firstName,
      lastName: req.lastName || undefined,
    });
    ctx.login.codes.delete(phone);
    ctx.world.touch();
    return completeLogin(ctx, call, user);
  } catch (e) {
    if (e instanceof WorldError) throw new RpcError(400, e.code);
    throw e;
  }
}

/** auth.cancelCode. */
export function cancelCode(ctx: ApiContext, call: RpcCall, req: Api.auth.CancelCode): boolean {
  const phone = checkPhone(ctx, req.phoneNumber);
  liveCode(ctx, call, phone, req.phoneCodeHash);
  ctx.login.codes.delete(phone);
  return true;
}

/** auth.logOut: the key is unbound and then deleted (further messages: transport -404). */
export function logOut(ctx: ApiContext, call: RpcCall): Api.auth.LoggedOut {
  requireUser(ctx, call);
  logOutKey(ctx, call.authKey.id);
  return new Api.auth.LoggedOut({});
}
