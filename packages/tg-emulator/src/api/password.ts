/**
 * 2FA: account.getPassword and auth.checkPassword with real SRP
 * (https://core.telegram.org/api/srp).
 */
import { randomBytes } from 'node:crypto';
import { Api } from 'telegram';
import bigInt from 'big-integer';
import type { ApiContext } from './context.js';
import type { RpcCall } from '../rpc.js';
import { RpcError } from '../rpc.js';
import type { UserRecord } from '../world/types.js';
import { kdfAlgo, newKdfAlgo, srpCheck, srpServerStart, toBuf } from './srp.js';
import { completeLogin, requireUser } from './session.js';
import { randomLong } from '../world/ids.js';

const SRP_TTL_MS = 10 * 60 * 1000;
/** auth_key_id → latest srp_id handed out on that key. */
const latestSrp = new WeakMap<ApiContext, Map<string, string>>();

function passwordUser(ctx: ApiContext, call: RpcCall): UserRecord {
  const pending = ctx.login.pendingPassword.get(call.authKey.id);
  if (pending !== undefined) {
    const u = ctx.world.users.get(pending);
    if (u) return u;
  }
  return requireUser(ctx, call);
}

/** account.getPassword: a fresh srp_id and srp_B on every call. */
export function getPassword(ctx: ApiContext, call: RpcCall): Api.account.Password {
  const user = passwordUser(ctx, call);
  const common = {
    newAlgo: newKdfAlgo(),
    newSecureAlgo: new Api.SecurePasswordKdfAlgoSHA512({ salt: randomBytes(8) }),
    secureRandom: randomBytes(32),
  };
  if (!user.password) return new Api.account.Password({ ...common, hasPassword: false });
  const { b, B } = srpServerStart(user.password);
  const srpId = randomLong();
  const now = Date.now();
  for (const [id, s] of ctx.login.srp) if (s.expiresAt < now) ctx.login.srp.delete(id);
  ctx.login.srp.set(srpId, {
    userId: user.id,
    b,
    B,
    password: user.password,
    expiresAt: now + SRP_TTL_MS,
  });
  let latest = latestSrp.get(ctx);
  if (!latest) {
    latest = new Map();
    latestSrp.set(ctx, latest);
  }
  latest.set(call.authKey.id, srpId);
  return new Api.account.Password({
    ...common,
    hasPassword: true,
    hint: user.password.hint,
    currentAlgo: kdfAlgo(user.password),
    srp_B: toBuf(B),
    srpId: bigInt(srpId),
  });
}

/** auth.checkPassword. Errors: 400 `SRP_ID_INVALID`, `PASSWORD_HASH_INVALID`, `SRP_PASSWORD_CHANGED`. */
export function checkPassword(
  ctx: ApiContext,
  call: RpcCall,
  req: Api.auth.CheckPassword,
): Api.auth.Authorization {
  const userId = ctx.login.pendingPassword.get(call.authKey.id) ?? call.authKey.userId;
  const user = userId === undefined ? undefined : ctx.world.users.get(userId);
  if (!user) throw new RpcError(401, 'AUTH_KEY_UNREGISTERED');
  const input = req.password;
  if (!(input instanceof Api.InputCheckPasswordSRP))
    throw new RpcError(400, 'PASSWORD_HASH_INVALID');
  const srpId = input.srpId.toString();
  const session = ctx.login.srp.get(srpId);
  if (
    !session ||
    session.userId !== user.id ||
    session.expiresAt < Date.now() ||
    latestSrp.get(ctx)?.get(call.authKey.id) !== srpId
  ) {
    throw new RpcError(400, 'SRP_ID_INVALID');
  }
  ctx.login.srp.delete(srpId);
  if (!user.password || user.password.v !== session.password.v)
    throw new RpcError(400, 'SRP_PASSWORD_CHANGED');
  if (
    !srpCheck(session.password, session.b, session.B, Buffer.from(input.A), Buffer.from(input.M1))
  )
    throw new RpcError(400, 'PASSWORD_HASH_INVALID');
  return completeLogin(ctx, call, user);
}
