/**
 * users.getUsers, users.getFullUser, contacts.resolveUsername,
 * contacts.getContacts, contacts.importContacts
 * (https://core.telegram.org/method/users.getUsers ...).
 */
import { Api } from 'telegram';
import type bigInt from 'big-integer';
import type { ApiContext } from './context.js';
import { RpcError } from '../rpc.js';
import type { UserRecord } from '../world/types.js';
import { collectEntities, long, renderChannel, renderPeer, renderUser } from './tl.js';
import { resolveUser } from './peers.js';

/** users.getUsers: unknown ids are skipped. */
export function getUsers(
  ctx: ApiContext,
  self: UserRecord,
  req: Api.users.GetUsers,
): Api.TypeUser[] {
  const out: Api.TypeUser[] = [];
  for (const input of req.id) {
    try {
      out.push(renderUser(ctx.world, resolveUser(ctx.world, self.id, input), self.id));
    } catch {
      // Telegram omits users it cannot resolve
    }
  }
  return out;
}

/** users.getFullUser. Errors: 400 `USER_ID_INVALID`. */
export function getFullUser(
  ctx: ApiContext,
  self: UserRecord,
  req: Api.users.GetFullUser,
): Api.users.UserFull {
  const user = resolveUser(ctx.world, self.id, req.id);
  const common = ctx.world.chats.chatsOf(self.id).filter((c) => c.members.includes(user.id)).length;
  return new Api.users.UserFull({
    fullUser: new Api.UserFull({
      id: long(user.id),
      settings: new Api.PeerSettings({}),
      notifySettings: new Api.PeerNotifySettings({}),
      commonChatsCount: common,
    }),
    chats: [],
    users: [renderUser(ctx.world, user, self.id)],
  });
}

/** contacts.resolveUsername: users and channels. Errors: 400 `USERNAME_INVALID`, `USERNAME_NOT_OCCUPIED`. */
export function resolveUsername(
  ctx: ApiContext,
  self: UserRecord,
  req: Api.contacts.ResolveUsername,
): Api.contacts.ResolvedPeer {
  const name = req.username.replace(/^@/, '');
  if (!/^[a-zA-Z][a-zA-Z0-9_]{3,31}$/.test(name)) throw new RpcError(400, 'USERNAME_INVALID');
  const user = ctx.world.users.byUserName(name);
  if (user)
    return new Api.contacts.ResolvedPeer({
      peer: renderPeer({ type: 'user', id: user.id }),
      users: [renderUser(ctx.world, user, self.id)],
      chats: [],
    });
  const ch = ctx.world.chats.channelByUsername(name);
  if (ch)
    return new Api.contacts.ResolvedPeer({
      peer: renderPeer({ type: 'channel', id: ch.id }),
      users: [],
      chats: [renderChannel(ch, self.id)],
    });
  throw new RpcError(400, 'USERNAME_NOT_OCCUPIED');
}

/** contacts.getContacts. */
export function getContacts(ctx: ApiContext, self: UserRecord): Api.contacts.Contacts {
  const contacts = self.contacts
    .map((id) => ctx.world.users.get(id))
    .filter((u): u is UserRecord => !!u);
  return new Api.contacts.Contacts({
    contacts: contacts.map(
      (u) => new Api.Contact({ userId: long(u.id), mutual: u.contacts.includes(self.id) }),
    ),
    savedCount: 0,
    users: contacts.map((u) => renderUser(ctx.world, u, self.id)),
  });
}

/** contacts.importContacts: adds registered phones to the contact list. */
export function importContacts(
  ctx: ApiContext,
  self: UserRecord,
  req: Api.contacts.ImportContacts,
): Api.contacts.ImportedContacts {
  const imported: Api.ImportedContact[] = [];
  for (const c of req.contacts) {
    const u = ctx.world.users.byPhoneNumber(c.phone);
    if (!u) continue;
    if (!self.contacts.includes(u.id) && u.id !== self.id) self.contacts.push(u.id);
    imported.push(new Api.ImportedContact({ userId: long(u.id), clientId: c.clientId }));
  }
  ctx.world.touch();
  const { users } = collectEntities(
    ctx.world,
    self.id,
    [],
    imported.map((i) => ({ type: 'user' as const, id: Number(i.userId.toString()) })),
  );
  return new Api.contacts.ImportedContacts({
    imported,
    popularInvites: [],
    retryContacts: [] as bigInt.BigInteger[],
    users,
  });
}
