/**
 * Binding users to auth keys: completing a login, logging out, revoking.
 * https://core.telegram.org/api/auth
 */
import { Api } from 'telegram';
import type { ApiContext } from './context.js';
import type { RpcCall } from '../rpc.js';
import { RpcError } from '../rpc.js';
import type { UserRecord } from '../world/types.js';
import { renderUser } from './tl.js';

/** Binds `user` to the call's auth key and returns `auth.authorization`. */
export function completeLogin(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
): Api.auth.Authorization {
  const key = call.authKey;
  key.userId = user.id;
  ctx.login.pendingPassword.delete(key.id);
  ctx.login.revokedKeys.delete(key.id);
  ctx.authKeys.changed();
  ctx.world.logs.account(user.id);
  ctx.counters.logins += 1;
  return new Api.auth.Authorization({ user: renderUser(ctx.world, user, user.id) });
}

/**
 * The logged-in user of the call. Throws 401 `AUTH_KEY_UNREGISTERED`,
 * 401 `SESSION_REVOKED` (once, after a revocation) or 401 `USER_DEACTIVATED`.
 */
export function requireUser(ctx: ApiContext, call: RpcCall): UserRecord {
  const key = call.authKey;
  const user = key.userId === undefined ? undefined : ctx.world.users.get(key.userId);
  if (!user) {
    const revoked = ctx.login.revokedKeys.get(key.id);
    if (revoked) {
      ctx.login.revokedKeys.delete(key.id);
      throw new RpcError(401, revoked);
    }
    throw new RpcError(401, 'AUTH_KEY_UNREGISTERED');
  }
  if (user.deactivated) throw new RpcError(401, 'USER_DEACTIVATED');
  return user;
}

/**
 * Revokes an authorization: the key stays known to the MTProto layer but is
 * no longer logged in; its next call gets 401 `SESSION_REVOKED`, later ones
 * `AUTH_KEY_UNREGISTERED`. Returns false for an unknown key.
 */
export function revokeKey(ctx: ApiContext, authKeyId: string, error = 'SESSION_REVOKED'): boolean {
  const key = ctx.authKeys.get(authKeyId);
  if (!key) return false;
  key.userId = undefined;
  ctx.login.pendingPassword.delete(authKeyId);
  ctx.login.revokedKeys.set(authKeyId, error);
  ctx.authKeys.changed();
  return true;
}

/**
 * Logs a key out like auth.logOut: it is unbound at once and deleted from
 * the key table shortly after (so the pending answer can still be
 * encrypted); later messages with it get transport error -404.
 */
export function logOutKey(ctx: ApiContext, authKeyId: string): boolean {
  const key = ctx.authKeys.get(authKeyId);
  if (!key) return false;
  key.userId = undefined;
  ctx.login.pendingPassword.delete(authKeyId);
  ctx.authKeys.changed();
  setTimeout(() => ctx.authKeys.delete(authKeyId), 50).unref();
  return true;
}
