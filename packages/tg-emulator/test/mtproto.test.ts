/**
 * MTProto layer with the real GramJS client: key exchange, config, RPC
 * results and errors, update pushes, session reuse, salts, msg_ids, gzip.
 */
import bigInt from 'big-integer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Api, errors } from 'telegram';
import { Raw } from 'telegram/events/index.js';
import { LAYER } from 'telegram/tl/AllTLObjects.js';
import type { StringSession } from 'telegram/sessions/index.js';
import { SELF_ID, startHarness, waitFor, within, type Harness } from './mtproto-harness.js';
import type { MtprotoConnection } from '../src/server.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
});

describe('MTProto server with GramJS', () => {
  it('connect: DH key exchange, help.getConfig pointing at the emulator, layer/initConnection kept on the key', async () => {
    const client = h.client();
    await client.connect();
    expect(h.server.counters.authKeysCreated).toBe(1);
    expect(h.authKeys.all()).toHaveLength(1);
    const config = await client.invoke(new Api.help.GetConfig());
    expect(config).toBeInstanceOf(Api.Config);
    expect(config.thisDc).toBe(2);
    const dcs = config.dcOptions
      .filter((d) => !d.mediaOnly)
      .map((d) => [d.id, d.ipAddress, d.port]);
    expect(dcs).toEqual([1, 2, 3, 4, 5].map((id) => [id, '127.0.0.1', h.server.port]));
    const rec = h.authKeys.all()[0]!;
    expect(rec.key).toHaveLength(256);
    expect(rec.layer).toBe(LAYER);
    expect(rec.client?.apiId).toBe(12345);
    const nearest = await client.invoke(new Api.help.GetNearestDc());
    expect(nearest.thisDc).toBe(2);
  });

  it('stub results and errors surface in GramJS (vector, bool, FLOOD_WAIT_5, 500 INTERNAL)', async () => {
    const client = h.client();
    await client.connect();
    const me = await client.getMe();
    expect(Number((me as Api.User).id)).toBe(SELF_ID);
    expect(await client.invoke(new Api.account.UpdateStatus({ offline: false }))).toBe(true);
    const flood = await client.invoke(new Api.account.GetAuthorizations()).catch((e: unknown) => e);
    expect(flood).toBeInstanceOf(errors.FloodWaitError);
    expect((flood as errors.FloodWaitError).seconds).toBe(5);
    const internal = await client.invoke(new Api.account.GetPassword()).catch((e: unknown) => e);
    expect((internal as errors.RPCError).code).toBe(500);
    expect((internal as errors.RPCError).errorMessage).toBe('INTERNAL');
    const call = h.handler.calls.find((c) => c.request instanceof Api.users.GetUsers)!;
    expect(call.authKey.id).toBe(h.authKeys.all()[0]!.id);
    expect(call.connection.receivesUpdates).toBe(true);
  });

  it('pushUpdates: updateShortMessage fires a GramJS Raw handler; acks are tracked; passive connections get none', async () => {
    const client = h.client();
    const got: Api.UpdateShortMessage[] = [];
    client.addEventHandler((u: Api.TypeUpdates) => {
      if (u instanceof Api.UpdateShortMessage) got.push(u);
    }, new Raw({}));
    await client.connect();
    const [conn] = h.server.connections() as MtprotoConnection[];
    // Only help.getConfig so far: not update-receiving, pushes are dropped.
    expect(conn!.receivesUpdates).toBe(false);
    conn!.pushUpdates(
      new Api.UpdateShortMessage({
        id: 1,
        userId: bigInt(7),
        message: 'early',
        pts: 1,
        ptsCount: 1,
        date: 1,
      }),
    );
    expect(h.server.counters.updatesPushed).toBe(0);
    await client.getMe();
    expect(conn!.receivesUpdates).toBe(true);
    const update = new Api.UpdateShortMessage({
      id: 2,
      userId: bigInt(7),
      message: 'hello from the emulator',
      pts: 2,
      ptsCount: 1,
      date: Math.floor(Date.now() / 1000),
    });
    conn!.pushUpdates(update);
    await waitFor(() => got.length === 1, 5000, 'update');
    const sentBefore = [...conn!.session!.unacked.keys()];
    expect(sentBefore.length).toBeGreaterThan(0);
    expect(got[0]!.message).toBe('hello from the emulator');
    expect(h.server.counters.updatesPushed).toBe(1);
    // GramJS acknowledges the pushed message with the next packet it sends.
    await client.invoke(new Api.updates.GetState());
    await waitFor(
      () =>
        h.server.stats.acksReceived > 0 &&
        sentBefore.every((id) => !conn!.session!.unacked.has(id)),
      5000,
      'acks',
    );
  });

  it('a saved StringSession reconnects with the same auth key (no new DH)', async () => {
    const first = h.client();
    await first.connect();
    await first.getMe();
    const saved = (first.session as StringSession).save();
    expect(saved).not.toBe('');
    await first.destroy();
    const second = h.client({ session: saved });
    await second.connect();
    const me = await second.getMe();
    expect(Number((me as Api.User).id)).toBe(SELF_ID);
    expect(h.server.counters.authKeysCreated).toBe(1);
    expect(h.server.counters.connectionsAccepted).toBe(2);
    expect((second.session as StringSession).port).toBe(h.server.port);
  });

  it('after a server-side drop GramJS reconnects by itself and is answered without resending initConnection', async () => {
    const client = h.client();
    await client.connect();
    await client.getMe();
    const keyId = h.authKeys.all()[0]!.id;
    expect(h.server.dropConnections({ authKeyId: keyId })).toBe(1);
    await waitFor(
      () => h.server.counters.connectionsAccepted >= 2 && h.server.connections().length === 1,
      10_000,
      'reconnect',
    );
    const callsBefore = h.handler.calls.length;
    const state = await within(client.invoke(new Api.updates.GetState()), 10_000);
    expect(state.pts).toBe(1);
    // The layer stored on the key is what the API layer sees after the reconnect.
    const after = h.handler.calls.slice(callsBefore);
    expect(after.every((c) => c.authKey.layer === LAYER)).toBe(true);
    expect(h.server.counters.authKeysCreated).toBe(1);
    // Pushes reach the new connection (GramJS called getMe on reconnect → update-receiving).
    let got = 0;
    client.addEventHandler(() => got++, new Raw({ types: [Api.UpdateShortMessage] }));
    const conn = h.server.connections()[0]!;
    await waitFor(() => conn.receivesUpdates, 5000, 'update-receiving');
    conn.pushUpdates(
      new Api.UpdateShortMessage({
        id: 3,
        userId: bigInt(7),
        message: 'after reconnect',
        pts: 3,
        ptsCount: 1,
        date: 1,
      }),
    );
    await waitFor(() => got === 1, 5000, 'update after reconnect');
  });

  it('unknown auth key → transport error -404, the call is not answered', async () => {
    const client = h.client();
    await client.connect();
    await client.getMe();
    h.authKeys.delete(h.authKeys.all()[0]!.id);
    const r = await within(client.getMe(), 1500).catch((e: unknown) => e);
    expect(r).toBeInstanceOf(Error);
    expect(h.server.stats.transportErrors).toBeGreaterThanOrEqual(1);
    expect(h.server.connections()).toHaveLength(0);
  });

  it('wrong server salt → bad_server_salt, GramJS retries with the new salt', async () => {
    const client = h.client();
    await client.connect();
    const saltsAtStart = h.server.stats.badServerSalts; // GramJS starts with salt 0
    expect(saltsAtStart).toBeGreaterThanOrEqual(1);
    (
      client as unknown as { _sender: { _state: { salt: bigInt.BigInteger } } }
    )._sender._state.salt = bigInt(123456789);
    const me = await within(client.getMe(), 5000);
    expect(Number((me as Api.User).id)).toBe(SELF_ID);
    expect(h.server.stats.badServerSalts).toBe(saltsAtStart + 1);
  });

  it('msg_id too old → bad_msg_notification 16, GramJS fixes its clock offset and retries', async () => {
    const client = h.client();
    await client.connect();
    const state = (
      client as unknown as {
        _sender: { _state: { timeOffset: number; _lastMsgId: bigInt.BigInteger } };
      }
    )._sender._state;
    state.timeOffset = -1000;
    state._lastMsgId = bigInt.zero;
    const me = await within(client.getMe(), 5000);
    expect(Number((me as Api.User).id)).toBe(SELF_ID);
    expect(h.server.stats.badMsgNotifications).toBeGreaterThanOrEqual(1);
    expect(Math.abs(state.timeOffset)).toBeLessThan(5);
  });

  it('a large answer is sent gzip_packed and read correctly', async () => {
    const client = h.client();
    await client.connect();
    const res = await client.invoke(new Api.contacts.GetContacts({ hash: bigInt(0) }));
    expect(res).toBeInstanceOf(Api.contacts.Contacts);
    const contacts = res as Api.contacts.Contacts;
    expect(contacts.users).toHaveLength(300);
    expect((contacts.users[299] as Api.User).firstName).toBe('User1299');
    expect(h.server.stats.gzipPacked).toBeGreaterThanOrEqual(1);
  });

  it('setLatency delays answers', async () => {
    const client = h.client();
    await client.connect();
    await client.getMe();
    h.server.setLatency(300);
    const t = Date.now();
    await client.getMe();
    expect(Date.now() - t).toBeGreaterThanOrEqual(290);
    h.server.setLatency(0);
    const t2 = Date.now();
    await client.getMe();
    expect(Date.now() - t2).toBeLessThan(290);
  });

  it('ping_delay_disconnect closes the connection after the delay', async () => {
    const client = h.client();
    await client.connect();
    const pong = await client.invoke(
      new Api.PingDelayDisconnect({ pingId: bigInt(77), disconnectDelay: 1 }),
    );
    expect(pong.pingId.toString()).toBe('77');
    await waitFor(() => h.server.stats.pingTimeouts === 1, 4000, 'ping timeout');
  });
});
