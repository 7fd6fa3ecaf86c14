/**
 * MTProto connection-level behaviour with the real GramJS client:
 * AUTH_KEY_DUPLICATED (and the file-transfer exception), transports,
 * dropped and refused connections.
 */
import bigInt from 'big-integer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Api, type TelegramClient } from 'telegram';
import { Raw } from 'telegram/events/index.js';
import type { StringSession } from 'telegram/sessions/index.js';
import type { TelegramTransport } from '@tgbridge/telegram';
import { SELF_ID, startHarness, waitFor, within, type Harness } from './mtproto-harness.js';
import type { MtprotoConnection } from '../src/server.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
});

type Sender = Parameters<TelegramClient['invokeWithSender']>[1];

describe('AUTH_KEY_DUPLICATED', () => {
  it('two clients with the same session at once → 406 AUTH_KEY_DUPLICATED to both, counter 1', async () => {
    const a = h.client();
    await a.connect();
    await a.getMe();
    const saved = (a.session as StringSession).save();
    const b = h.client({ session: saved });
    await b.connect(); // initConnection(help.getConfig): not update-receiving yet
    expect(h.server.counters.authKeyDuplicated).toBe(0);
    const err = await within(b.getMe(), 5000).catch((e: unknown) => e);
    expect((err as { errorMessage?: string }).errorMessage).toBe('AUTH_KEY_DUPLICATED');
    expect((err as { code?: number }).code).toBe(406);
    expect(h.server.counters.authKeyDuplicated).toBe(1);
    expect(h.server.counters.authKeysCreated).toBe(1);
    // Both connections were closed.
    expect(h.server.connections().filter((c) => c.receivesUpdates)).toHaveLength(0);
    await a.destroy();
    await b.destroy();
  });

  it('an in-flight request of the older connection also gets AUTH_KEY_DUPLICATED', async () => {
    const a = h.client();
    await a.connect();
    await a.getMe();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const original = h.handler.handle.bind(h.handler);
    let inFlight = false;
    h.handler.handle = async (call) => {
      if (call.request instanceof Api.updates.GetState) {
        inFlight = true;
        await gate;
      }
      return original(call);
    };
    const pendingA = a.invoke(new Api.updates.GetState()).catch((e: unknown) => e);
    await waitFor(() => inFlight, 5000, 'A in flight');
    const b = h.client({ session: (a.session as StringSession).save() });
    await b.connect();
    const errB = await within(b.getMe(), 5000).catch((e: unknown) => e);
    expect((errB as { errorMessage?: string }).errorMessage).toBe('AUTH_KEY_DUPLICATED');
    const errA = await within(pendingA, 5000);
    expect((errA as { errorMessage?: string }).errorMessage).toBe('AUTH_KEY_DUPLICATED');
    release();
    expect(h.server.counters.authKeyDuplicated).toBe(1);
    await a.destroy();
    await b.destroy();
  });

  it('a file-transfer connection on the same key (GramJS exported sender, upload.getFile) is not a duplicate', async () => {
    const client = h.client();
    await client.connect();
    await client.getMe();
    const sender = (await client.getSender(client.session.dcId)) as Sender;
    const file = await client.invokeWithSender(
      new Api.upload.GetFile({
        location: new Api.InputDocumentFileLocation({
          id: bigInt(1),
          accessHash: bigInt(2),
          fileReference: Buffer.alloc(0),
          thumbSize: '',
        }),
        offset: bigInt(0),
        limit: 1024,
      }),
      sender,
    );
    expect((file as Api.upload.File).bytes.toString()).toBe('file-bytes');
    const conns = h.server.connections() as MtprotoConnection[];
    expect(conns).toHaveLength(2);
    expect(conns.filter((c) => c.receivesUpdates)).toHaveLength(1);
    expect(new Set(conns.map((c) => c.authKey?.id)).size).toBe(1);
    // The main connection keeps working and still gets updates.
    const me = await client.getMe();
    expect(Number((me as Api.User).id)).toBe(SELF_ID);
    expect(h.server.counters.authKeyDuplicated).toBe(0);
  });

  it('GramJS reconnecting on its own (old socket closed) is not a duplicate', async () => {
    const client = h.client();
    await client.connect();
    await client.getMe();
    for (let i = 0; i < 3; i++) {
      const accepted = h.server.counters.connectionsAccepted;
      // Client-side break: GramJS closes its socket and reconnects (then calls getMe).
      (client as unknown as { _sender: { reconnect(): void } })._sender.reconnect();
      await waitFor(() => h.server.counters.connectionsAccepted > accepted, 10_000, 'reconnect');
      await within(client.getMe(), 10_000);
    }
    expect(h.server.counters.authKeyDuplicated).toBe(0);
  });
});

describe('transports', () => {
  const cases: Array<[TelegramTransport, string]> = [
    ['full', 'full'],
    ['abridged', 'abridged'],
    ['intermediate', 'intermediate'],
    ['obfuscated', 'obfuscated+abridged'],
  ];
  for (const [transport, seen] of cases) {
    it(`${transport}: key exchange, RPC, gzip answer and update push`, async () => {
      const client = h.client({ transport });
      let got = 0;
      client.addEventHandler(() => got++, new Raw({ types: [Api.UpdateShortMessage] }));
      await client.connect();
      const me = await client.getMe();
      expect(Number((me as Api.User).id)).toBe(SELF_ID);
      const contacts = (await client.invoke(
        new Api.contacts.GetContacts({ hash: bigInt(0) }),
      )) as Api.contacts.Contacts;
      expect(contacts.users).toHaveLength(300);
      const [conn] = h.server.connections() as MtprotoConnection[];
      expect(conn!.transport).toBe(seen);
      conn!.pushUpdates(
        new Api.UpdateShortMessage({
          id: 1,
          userId: bigInt(7),
          message: 'hi',
          pts: 1,
          ptsCount: 1,
          date: 1,
        }),
      );
      await waitFor(() => got === 1, 5000, 'update');
    });
  }
});

describe('connection faults', () => {
  it('dropConnections by user → GramJS reconnects and keeps working', async () => {
    const client = h.client();
    await client.connect();
    await client.getMe();
    h.authKeys.all()[0]!.userId = SELF_ID;
    expect(h.server.connections(SELF_ID)).toHaveLength(1);
    expect(h.server.dropConnections({ userId: 999 })).toBe(0);
    expect(h.server.dropConnections({ userId: SELF_ID })).toBe(1);
    await waitFor(() => h.server.connections(SELF_ID).length === 1, 10_000, 'reconnect');
    const state = await within(client.invoke(new Api.updates.GetState()), 10_000);
    expect(state.pts).toBe(1);
    expect(h.server.counters.authKeysCreated).toBe(1);
    expect(h.handler.closed).toBeGreaterThanOrEqual(1);
  });

  it('refuseConnectionsFor: new connections are refused for the period, then GramJS gets back in', async () => {
    const client = h.client();
    await client.connect();
    await client.getMe();
    h.server.refuseConnectionsFor(1500);
    const t = Date.now();
    h.server.dropConnections();
    await waitFor(() => h.server.stats.connectionsRefused >= 1, 10_000, 'a refused attempt');
    await waitFor(() => h.server.connections().length === 1, 15_000, 'reconnect after refusal');
    expect(Date.now() - t).toBeGreaterThanOrEqual(1400);
    const me = await within(client.getMe(), 10_000);
    expect(Number((me as Api.User).id)).toBe(SELF_ID);
  });
});
