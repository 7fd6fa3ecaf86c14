/**
 * Authorizations of an account: account.getAuthorizations,
 * account.resetAuthorization (https://core.telegram.org/method/account.getAuthorizations).
 */
import { Api } from 'telegram';
import bigInt from 'big-integer';
import type { ApiContext } from './context.js';
import type { AuthKeyRecord, RpcCall } from '../rpc.js';
import { RpcError } from '../rpc.js';
import type { UserRecord } from '../world/types.js';
import { revokeKey } from './session.js';
import { nowSeconds } from '../world/ids.js';

/** `Api.Authorization` of a key; `hash` is the auth_key_id (0 for the current one, like Telegram). */
export function renderAuthorization(key: AuthKeyRecord, current: boolean): Api.Authorization {
  return new Api.Authorization({
    current,
    officialApp: false,
    hash: bigInt(current ? '0' : key.id),
    deviceModel: key.client?.deviceModel ?? 'Unknown',
    platform: '',
    systemVersion: key.client?.systemVersion ?? '',
    apiId: key.client?.apiId ?? 0,
    appName: 'GramJS',
    appVersion: key.client?.appVersion ?? '',
    dateCreated: key.createdAt,
    dateActive: nowSeconds(),
    ip: '127.0.0.1',
    country: 'Emulated',
    region: '',
  });
}

/** account.getAuthorizations. */
export function getAuthorizations(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
): Api.account.Authorizations {
  return new Api.account.Authorizations({
    authorizationTtlDays: 180,
    authorizations: ctx.authKeys
      .ofUser(user.id)
      .map((k) => renderAuthorization(k, k.id === call.authKey.id)),
  });
}

/** account.resetAuthorization: revokes another session of the account. Errors: 400 `HASH_INVALID`. */
export function resetAuthorization(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
  req: Api.account.ResetAuthorization,
): boolean {
  const id = req.hash.toString();
  if (id === '0' || id === call.authKey.id) throw new RpcError(400, 'HASH_INVALID');
  const key = ctx.authKeys.get(id);
  if (!key || key.userId !== user.id) throw new RpcError(400, 'HASH_INVALID');
  revokeKey(ctx, id);
  return true;
}
