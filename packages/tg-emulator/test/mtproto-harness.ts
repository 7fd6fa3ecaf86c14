/**
 * Test harness for the MTProto layer: an MtprotoServer on 127.0.0.1 with a
 * tiny stub ApiHandler, and real GramJS clients created through
 * @tgbridge/telegram.
 */
import bigInt from 'big-integer';
import { Api, type TelegramClient } from 'telegram';
import { createTelegramClient, type TelegramClientOptions } from '@tgbridge/telegram';
import { AuthKeyStore } from '../src/auth-keys.js';
import { RpcError, type ApiHandler, type RpcCall, type RpcResultValue } from '../src/rpc.js';
import { MtprotoServer, generateRsaKeyPair, type RsaKeyPair } from '../src/server.js';

let cachedKeys: RsaKeyPair | undefined;
/** One RSA key pair per test file (generation takes ~0.3 s). */
export function testKeys(): RsaKeyPair {
  cachedKeys ??= generateRsaKeyPair();
  return cachedKeys;
}

export const SELF_ID = 4242;

/** A user object as the stub returns it. */
export function stubUser(id: number, name = `User${id}`): Api.User {
  return new Api.User({
    id: bigInt(id),
    self: id === SELF_ID,
    accessHash: bigInt(id * 7),
    firstName: name,
    lastName: 'Lastname-'.repeat(3) + name,
    username: `user_${id}`,
    phone: `99966${String(id).padStart(5, '0')}`,
  });
}

/** Stub handler: users.getUsers, updates.getState, upload.getFile, contacts.getContacts (large), errors. */
export class StubHandler implements ApiHandler {
  readonly calls: RpcCall[] = [];
  closed = 0;
  async handle(call: RpcCall): Promise<RpcResultValue> {
    this.calls.push(call);
    const r = call.request;
    if (r instanceof Api.users.GetUsers) return [stubUser(SELF_ID, 'Self')];
    if (r instanceof Api.updates.GetState) {
      return new Api.updates.State({
        pts: 1,
        qts: 0,
        date: Math.floor(Date.now() / 1000),
        seq: 1,
        unreadCount: 0,
      });
    }
    if (r instanceof Api.upload.GetFile) {
      return new Api.upload.File({
        type: new Api.storage.FileUnknown(),
        mtime: 0,
        bytes: Buffer.from('file-bytes'),
      });
    }
    if (r instanceof Api.contacts.GetContacts) {
      const users = Array.from({ length: 300 }, (_, i) => stubUser(1000 + i));
      return new Api.contacts.Contacts({
        contacts: users.map((u) => new Api.Contact({ userId: u.id, mutual: true })),
        savedCount: 0,
        users,
      });
    }
    if (r instanceof Api.account.GetAuthorizations) throw new RpcError(420, 'FLOOD_WAIT_5');
    if (r instanceof Api.account.GetPassword) throw new Error('boom');
    if (r instanceof Api.account.UpdateStatus) return true;
    throw new RpcError(400, 'METHOD_NOT_STUBBED');
  }
  connectionClosed(): void {
    this.closed++;
  }
}

/** A running server plus helpers to create clients that are cleaned up by {@link stop}. */
export interface Harness {
  server: MtprotoServer;
  authKeys: AuthKeyStore;
  handler: StubHandler;
  keys: RsaKeyPair;
  client(opts?: Partial<TelegramClientOptions>): TelegramClient;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const keys = testKeys();
  const authKeys = new AuthKeyStore();
  const handler = new StubHandler();
  const server = new MtprotoServer({ rsaPrivateKeyPem: keys.privateKeyPem, authKeys, handler });
  await server.listen();
  const clients: TelegramClient[] = [];
  return {
    server,
    authKeys,
    handler,
    keys,
    client(opts = {}) {
      const c = createTelegramClient({
        dc: { host: '127.0.0.1', port: server.port },
        rsaPublicKeyPem: keys.publicKeyPem,
        apiId: 12345,
        apiHash: 'test-hash',
        logLevel: 'none',
        retryDelayMs: 200,
        ...opts,
      });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) {
        await c.destroy().catch(() => {});
      }
      await server.close();
    },
  };
}

/** Polls `cond` every 25 ms until true or `ms` elapsed. @throws Error on timeout. */
export async function waitFor(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Rejects when `p` does not settle within `ms`. */
export function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms),
    ),
  ]);
}
