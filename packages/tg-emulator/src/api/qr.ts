/**
 * QR login (https://core.telegram.org/api/qr-login): auth.exportLoginToken,
 * auth.importLoginToken, auth.acceptLoginToken, and the control API's "scan".
 */
import { randomBytes } from 'node:crypto';
import { Api } from 'telegram';
import bigInt from 'big-integer';
import type { ApiContext, LoginToken } from './context.js';
import type { RpcCall } from '../rpc.js';
import { RpcError } from '../rpc.js';
import { completeLogin, requireUser } from './session.js';
import { short } from './push.js';
import { nowSeconds } from '../world/ids.js';

/** Token bytes → map key. */
export function tokenKey(token: Buffer): string {
  return token.toString('base64url');
}

/** If a token exported on this key was accepted: complete the login (or 401 `SESSION_PASSWORD_NEEDED`). */
function finishAccepted(ctx: ApiContext, call: RpcCall): Api.auth.LoginTokenSuccess | undefined {
  for (const [k, t] of ctx.login.loginTokens) {
    if (t.authKeyId !== call.authKey.id || t.acceptedBy === undefined) continue;
    ctx.login.loginTokens.delete(k);
    const user = ctx.world.users.get(t.acceptedBy);
    if (!user) continue;
    if (user.deactivated) throw new RpcError(401, 'USER_DEACTIVATED');
    if (user.password) {
      ctx.login.pendingPassword.set(call.authKey.id, user.id);
      throw new RpcError(401, 'SESSION_PASSWORD_NEEDED');
    }
    return new Api.auth.LoginTokenSuccess({ authorization: completeLogin(ctx, call, user) });
  }
  return undefined;
}

/** auth.exportLoginToken: a new token (valid loginTokenTtlSeconds), or loginTokenSuccess once accepted. */
export function exportLoginToken(
  ctx: ApiContext,
  call: RpcCall,
  req: Api.auth.ExportLoginToken,
): Api.auth.TypeLoginToken {
  if (!req.apiId || !req.apiHash) throw new RpcError(400, 'API_ID_INVALID');
  const done = finishAccepted(ctx, call);
  if (done) return done;
  const now = Date.now();
  for (const [k, t] of ctx.login.loginTokens)
    if (t.authKeyId === call.authKey.id || t.expiresAt < now - 60_000)
      ctx.login.loginTokens.delete(k);
  const token: LoginToken = {
    token: randomBytes(32),
    authKeyId: call.authKey.id,
    connection: call.connection,
    expiresAt: now + ctx.options.loginTokenTtlSeconds * 1000,
  };
  ctx.login.loginTokens.set(tokenKey(token.token), token);
  return new Api.auth.LoginToken({
    expires: Math.floor(token.expiresAt / 1000),
    token: token.token,
  });
}

/** auth.importLoginToken (after a DC migration; here: same as a repeated export). Errors: `AUTH_TOKEN_INVALID`. */
export function importLoginToken(
  ctx: ApiContext,
  call: RpcCall,
  req: Api.auth.ImportLoginToken,
): Api.auth.TypeLoginToken {
  const t = ctx.login.loginTokens.get(tokenKey(Buffer.from(req.token)));
  if (!t || t.authKeyId !== call.authKey.id) throw new RpcError(400, 'AUTH_TOKEN_INVALID');
  const done = finishAccepted(ctx, call);
  if (done) return done;
  return new Api.auth.LoginToken({ expires: Math.floor(t.expiresAt / 1000), token: t.token });
}

/**
 * Accepts ("scans") a login token as `userId` and pushes updateLoginToken
 * to the exporting session. Errors (RpcError 400): `AUTH_TOKEN_INVALID`,
 * `AUTH_TOKEN_EXPIRED`, `AUTH_TOKEN_ALREADY_ACCEPTED`.
 */
export function acceptToken(ctx: ApiContext, token: Buffer, userId: number): LoginToken {
  const t = ctx.login.loginTokens.get(tokenKey(token));
  if (!t) throw new RpcError(400, 'AUTH_TOKEN_INVALID');
  if (t.expiresAt < Date.now()) {
    ctx.login.loginTokens.delete(tokenKey(token));
    throw new RpcError(400, 'AUTH_TOKEN_EXPIRED');
  }
  if (t.acceptedBy !== undefined) throw new RpcError(400, 'AUTH_TOKEN_ALREADY_ACCEPTED');
  t.acceptedBy = userId;
  const update = short(new Api.UpdateLoginToken());
  const server = ctx.server();
  const targets = new Set(
    server ? server.connections().filter((c) => c.authKey?.id === t.authKeyId) : [],
  );
  targets.add(t.connection);
  for (const c of targets) {
    try {
      c.pushUpdates(update);
      ctx.counters.updatesPushed += 1;
    } catch {
      // closed; the client will export again and get loginTokenSuccess
    }
  }
  return t;
}

/** auth.acceptLoginToken from a logged-in client: returns the new `authorization`. */
export function acceptLoginToken(
  ctx: ApiContext,
  call: RpcCall,
  req: Api.auth.AcceptLoginToken,
): Api.Authorization {
  const user = requireUser(ctx, call);
  const t = acceptToken(ctx, Buffer.from(req.token), user.id);
  const key = ctx.authKeys.get(t.authKeyId);
  return new Api.Authorization({
    hash: bigInt(t.authKeyId),
    deviceModel: key?.client?.deviceModel ?? 'Unknown',
    platform: '',
    systemVersion: key?.client?.systemVersion ?? '',
    apiId: key?.client?.apiId ?? 0,
    appName: 'Unknown',
    appVersion: key?.client?.appVersion ?? '',
    dateCreated: nowSeconds(),
    dateActive: nowSeconds(),
    ip: '127.0.0.1',
    country: '',
    region: '',
  });
}
