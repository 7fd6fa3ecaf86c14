/**
 * Connector shards as separate processes against real NATS, a real
 * MongoDB-wire server and the Telegram emulator (in-process). One emulator
 * and one set of sessions run through the scenarios in order: spread,
 * messages (private, group, channel, edit, delete, media), commands
 * (send, idempotency, FLOOD_WAIT), connection drops, revocation, failover
 * (SIGKILL), rebalancing (a fourth shard) and catch-up after a full stop.
 * The emulator's AUTH_KEY_DUPLICATED counter must stay 0 throughout.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import mongoose from 'mongoose';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { startNats, uniqueDbUrl, uniqueName } from '@tgbridge/testinfra';
import type { RunningEmulator } from '@tgbridge/tg-emulator';
import { COMMAND_ERROR_HEADER, Command, EventType, commandSubject } from '@tgbridge/proto/subjects';
import {
  CommandError,
  DownloadMediaResponse,
  SendMessageResponse,
} from '@tgbridge/proto/connector/v1/connector';
import { ChatType } from '@tgbridge/proto/common/v1/common';
import { SessionLease } from '@tgbridge/proto/connector/v1/connector';
import { ownerOf } from '../src/domain/rendezvous.js';
import {
  EventLog,
  emulator,
  keySpec,
  login,
  startShard,
  stopShard,
  waitFor,
  writeSession,
  type Account,
  type Shard,
} from './harness.js';

const TENANT = 'acme';
const N = 6;

describe('connector shards', () => {
  let emu: RunningEmulator;
  let privateNats: Awaited<ReturnType<typeof startNats>> | undefined;
  let db: mongoose.Connection;
  let nc: NatsConnection;
  let log: EventLog;
  let env: Record<string, string>;
  const shards = new Map<string, Shard>();
  const accounts: Account[] = [];
  const sessions: string[] = [];
  let customer: { id: number; phone: string };

  const leaseOwners = async (): Promise<Map<string, string>> => {
    const kv = await new Kvm(nc).open(env.LEASES_BUCKET!);
    const out = new Map<string, string>();
    for (const id of sessions) {
      const e = await kv.get(id);
      if (e && e.operation === 'PUT') out.set(id, SessionLease.fromJSON(e.json()).shardId);
    }
    return out;
  };
  const start = (id: string): Shard => {
    const s = startShard(id, env);
    shards.set(id, s);
    return s;
  };
  const request = async (sessionId: string, cmd: Command, body: unknown, timeout = 10_000) => {
    const m = await nc.request(commandSubject(sessionId, cmd), JSON.stringify(body), { timeout });
    const err = m.headers?.get(COMMAND_ERROR_HEADER);
    return {
      err: err ? CommandError.fromJSON(m.json()) : undefined,
      body: err ? undefined : (m.json() as unknown),
    };
  };
  const connectedCount = (sid: string) =>
    log.of(sid, EventType.SessionConnected).length +
    log.of(sid, EventType.ConnectionRestored).length;
  const newMessages = (sid: string, text?: string) =>
    log
      .of(sid, EventType.NewMessage)
      .filter(
        (e) =>
          e.payload?.$case === 'message' &&
          (text === undefined || e.payload.value.message?.text === text),
      );

  beforeAll(async () => {
    emu = await emulator();
    // A nats-server of its own: its event stream covers tg.evt.>, and streams
    // on one server may not overlap, so it cannot share the suite's server.
    privateNats = await startNats({ reuseEnv: false });
    const natsUrl = privateNats.url;
    db = await mongoose.createConnection(uniqueDbUrl(inject('mongoUrl'), 'connector')).asPromise();
    nc = await connect({ servers: natsUrl });
    const keys = keySpec();
    const stream = uniqueName('TGEVT');
    env = {
      NATS_URL: natsUrl,
      MONGO_URL: '',
      SESSION_ENCRYPTION_KEYS: keys,
      TELEGRAM_DC: `${emu.host}:${emu.port}/${emu.dcId}`,
      TELEGRAM_RSA_PUBLIC_KEY: emu.publicKeyPem,
      EVENTS_STREAM: stream,
      SHARDS_BUCKET: uniqueName('shards'),
      LEASES_BUCKET: uniqueName('leases'),
    };
    env.MONGO_URL = `${inject('mongoUrl').replace(/\/$/, '')}/${db.name}`;
    customer = emu.control.createUser({
      phone: '+15550009999',
      firstName: 'Carol',
      lastName: 'Customer',
      username: 'carol',
    });
    for (let i = 0; i < N; i++) {
      const acc = await login(emu, `+1555000${1000 + i}`, `Agent${i}`);
      accounts.push(acc);
      sessions.push(await writeSession(db, keys, acc, TENANT, `agent${i}`));
    }
    // the stream exists once the first shard started; the collector retries until then
    start('shard-0');
    start('shard-1');
    start('shard-2');
    log = await EventLog.open(natsUrl, stream, TENANT);
  });

  afterAll(async () => {
    await Promise.all([...shards.values()].map((s) => stopShard(s)));
    await log?.close();
    await nc?.close();
    await db?.close();
    await emu?.stop();
    await privateNats?.stop();
  });

  it('spreads sessions over the shards, each connected exactly once', async () => {
    await waitFor(
      'all sessions connected',
      () => sessions.every((s) => log.of(s, EventType.SessionConnected).length > 0),
      40_000,
    );
    // The first shard up may take every session before the others have
    // joined; they are handed over once membership settles.
    const owners = await waitFor(
      'sessions leased by more than one shard',
      async () => {
        const o = await leaseOwners();
        return o.size === N && new Set(o.values()).size > 1 ? o : undefined;
      },
      30_000,
    );
    expect(owners.size).toBe(N);
    // shards start a few seconds apart, so a session may move once while they join (a clean hand-off)
    for (const s of sessions)
      expect(log.of(s, EventType.SessionConnected).length).toBeGreaterThanOrEqual(1);
    expect(emu.control.counters().authKeyDuplicated).toBe(0);
  });

  it('publishes private messages with sender and chat as seed 000', async () => {
    const acc = accounts[0]!;
    emu.control.sendMessage({ from: customer.id, to: { user: acc.userId }, text: 'hello agent' });
    const ev = await waitFor('new_message', () => newMessages(sessions[0]!, 'hello agent')[0]);
    const m = ev.payload?.$case === 'message' ? ev.payload.value.message! : undefined;
    expect(m?.from).toMatchObject({
      id: String(customer.id),
      firstName: 'Carol',
      lastName: 'Customer',
      username: 'carol',
    });
    expect(m?.chat).toMatchObject({ id: String(customer.id), type: ChatType.PRIVATE });
    expect(ev.eventId).toContain(sessions[0]!);
    expect(Number(ev.sequence)).toBeGreaterThan(1);
  });

  it('sends a message (round trip visible in the emulator); the same Idempotency-Key sends once', async () => {
    const sid = sessions[0]!;
    const acc = accounts[0]!;
    const r1 = await request(sid, Command.SendMessage, {
      sessionId: sid,
      chatId: String(customer.id),
      text: 'reply 1',
      idempotencyKey: 'k-1',
    });
    expect(r1.err).toBeUndefined();
    const res1 = SendMessageResponse.fromJSON(r1.body);
    expect(res1.messageId).toBeGreaterThan(0);
    const r2 = await request(sid, Command.SendMessage, {
      sessionId: sid,
      chatId: String(customer.id),
      text: 'reply 1',
      idempotencyKey: 'k-1',
    });
    const res2 = SendMessageResponse.fromJSON(r2.body);
    expect(res2.messageId).toBe(res1.messageId);
    expect(res2.duplicate).toBe(true);
    const sent = emu.control
      .sentMessages(acc.userId, { peer: { user: customer.id } })
      .filter((m) => m.text === 'reply 1');
    expect(sent).toHaveLength(1);
  });

  it('answers FLOOD_WAIT beyond the threshold with retry_after', async () => {
    const sid = sessions[0]!;
    emu.control.injectFault({
      kind: 'flood_wait',
      method: 'messages.sendMessage',
      userId: accounts[0]!.userId,
      seconds: 120,
      times: 1,
    });
    const r = await request(sid, Command.SendMessage, {
      sessionId: sid,
      chatId: String(customer.id),
      text: 'too fast',
    });
    expect(r.err).toMatchObject({ code: 'FLOOD_WAIT', retryAfterSeconds: 120 });
  });

  it('publishes edits and deletions', async () => {
    const sid = sessions[1]!;
    const acc = accounts[1]!;
    const sent = emu.control.sendMessage({
      from: customer.id,
      to: { user: acc.userId },
      text: 'typo',
    });
    await waitFor('new', () => newMessages(sid, 'typo')[0]);
    emu.control.editMessage({
      user: customer.id,
      peer: { user: acc.userId },
      messageId: sent.id,
      text: 'fixed',
    });
    const ed = await waitFor('edit', () => log.of(sid, EventType.MessageEdited)[0]);
    expect(ed.payload?.$case === 'message' && ed.payload.value.message?.text).toBe('fixed');
    emu.control.deleteMessages({ user: customer.id, messageIds: [sent.id], revoke: true });
    const del = await waitFor('delete', () => log.of(sid, EventType.MessageDeleted)[0]);
    expect(del.payload?.$case === 'deleted' && del.payload.value.messageIds.length).toBe(1);
  });

  it('publishes group and channel messages', async () => {
    const sid = sessions[2]!;
    const acc = accounts[2]!;
    const { chatId } = emu.control.createGroup({
      creator: customer.id,
      title: 'Team',
      members: [acc.userId],
    });
    emu.control.sendMessage({ from: customer.id, to: { chat: chatId }, text: 'group hi' });
    const g = await waitFor('group message', () => newMessages(sid, 'group hi')[0]);
    expect(g.payload?.$case === 'message' && g.payload.value.message?.chat).toMatchObject({
      id: `-${chatId}`,
      type: ChatType.GROUP,
    });
    const { channelId } = emu.control.createChannel({
      creator: customer.id,
      title: 'News',
      members: [acc.userId],
    });
    emu.control.sendMessage({
      from: customer.id,
      to: { channel: channelId },
      text: 'channel post',
    });
    const c = await waitFor('channel message', () => newMessages(sid, 'channel post')[0]);
    expect(c.payload?.$case === 'message' && c.payload.value.message?.chat).toMatchObject({
      id: `-100${channelId}`,
      type: ChatType.CHANNEL,
    });
  });

  it('downloads media byte-exact', async () => {
    const sid = sessions[3]!;
    const acc = accounts[3]!;
    const bytes = randomBytes(700 * 1024 + 123);
    emu.control.sendMessage({
      from: customer.id,
      to: { user: acc.userId },
      text: 'the file',
      document: { data: bytes, fileName: 'report.bin', mimeType: 'application/octet-stream' },
    });
    const ev = await waitFor('media message', () => newMessages(sid, 'the file')[0]);
    const msg = ev.payload?.$case === 'message' ? ev.payload.value.message! : undefined;
    expect(msg?.media).toMatchObject({
      fileName: 'report.bin',
      size: String(bytes.length),
      downloadable: true,
    });
    const parts: Buffer[] = [];
    for (let offset = 0; ;) {
      const r = await request(sid, Command.DownloadMedia, {
        sessionId: sid,
        chatId: msg!.chat!.id,
        messageId: msg!.id,
        offset: String(offset),
        limit: 256 * 1024,
      });
      expect(r.err).toBeUndefined();
      const res = DownloadMediaResponse.fromJSON(r.body);
      parts.push(res.data);
      offset += res.data.length;
      if (res.eof) break;
    }
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
  });

  it('reports connection_lost / connection_restored when the emulator drops connections; later messages arrive', async () => {
    const sid = sessions[4]!;
    const acc = accounts[4]!;
    emu.control.refuseConnections(1);
    emu.control.dropConnections({ user: acc.userId });
    await waitFor('connection_lost', () => log.of(sid, EventType.ConnectionLost)[0]);
    await waitFor(
      'connection_restored',
      () => log.of(sid, EventType.ConnectionRestored)[0],
      20_000,
    );
    emu.control.sendMessage({ from: customer.id, to: { user: acc.userId }, text: 'after drop' });
    await waitFor('message after drop', () => newMessages(sid, 'after drop')[0]);
  });

  it('marks a revoked authorization expired and publishes session_expired', async () => {
    const sid = sessions[5]!;
    const acc = accounts[5]!;
    emu.control.revokeAuthorization(acc.authKeyId);
    const ev = await waitFor(
      'session_expired',
      () => log.of(sid, EventType.SessionExpired)[0],
      20_000,
    );
    expect(ev.payload?.$case === 'session' && ev.payload.value.reason).toMatch(
      /SESSION_REVOKED|AUTH_KEY_UNREGISTERED/,
    );
    const doc = await db.collection('sessions').findOne({ _id: sid as never });
    expect(doc?.status).toBe('expired');
    expect(doc?.sessionSecret).toBeTruthy();
  });

  it('fails over the sessions of a SIGKILLed shard without losing messages', async () => {
    const live = sessions.slice(0, 5);
    const owners = await leaseOwners();
    const victim = [...new Set(live.map((s) => owners.get(s)))].find((x) => x !== undefined)!;
    const moved = live.filter((s) => owners.get(s) === victim);
    const before = new Map(moved.map((s) => [s, connectedCount(s)]));
    const killedAt = Date.now();
    shards.get(victim)!.proc.kill('SIGKILL');
    await shards.get(victim)!.exited;
    shards.delete(victim);
    for (const s of moved) {
      const acc = accounts[sessions.indexOf(s)]!;
      emu.control.sendMessage({
        from: customer.id,
        to: { user: acc.userId },
        text: `during failover ${s}`,
      });
    }
    for (const s of moved) {
      await waitFor(`failover of ${s}`, () => connectedCount(s) > before.get(s)!, 30_000).catch(
        (e: unknown) => {
          for (const sh of shards.values()) console.log(sh.id, sh.output.join('').slice(-3000));
          throw e;
        },
      );
      await waitFor(
        `message during failover ${s}`,
        () => newMessages(s, `during failover ${s}`).length === 1,
        20_000,
      );
    }
    const took = Date.now() - killedAt;
    expect(took).toBeLessThan(4000 + 3000 + 10_000);
    const after = await leaseOwners();
    for (const s of moved) expect(after.get(s)).not.toBe(victim);
  });

  it('rebalances onto a fourth shard without ever connecting a session twice', async () => {
    start('shard-3');
    // placement is deterministic: wait until every lease sits where rendezvous
    // hashing over the live members puts it (shard-3 may or may not win one)
    const members = [...shards.keys()];
    const expected = new Map(sessions.slice(0, 5).map((s) => [s, ownerOf(s, members)]));
    await waitFor(
      'leases placed by rendezvous hashing over the four shards',
      async () => {
        const owners = await leaseOwners();
        return [...expected].every(([s, o]) => owners.get(s) === o);
      },
      30_000,
    );
    const owners = await leaseOwners();
    expect(owners.size).toBe(5);
    // every session is live again and sends events from its (only) owner
    const sid = sessions[0]!;
    emu.control.sendMessage({
      from: customer.id,
      to: { user: accounts[0]!.userId },
      text: 'after rebalance',
    });
    await waitFor(
      'message after rebalance',
      () => newMessages(sid, 'after rebalance').length === 1,
      20_000,
    );
    expect(emu.control.counters().authKeyDuplicated).toBe(0);
  });

  it('stop all shards, 100 messages, start one: exactly those 100 messages reach the stream', async () => {
    await Promise.all([...shards.values()].map((s) => stopShard(s)));
    shards.clear();
    const sid = sessions[0]!;
    const acc = accounts[0]!;
    const texts = Array.from({ length: 100 }, (_, i) => `offline ${i}`);
    for (const t of texts)
      emu.control.sendMessage({ from: customer.id, to: { user: acc.userId }, text: t });
    start('shard-0');
    await waitFor(
      '100 offline messages',
      () =>
        newMessages(sid).filter(
          (e) =>
            e.payload?.$case === 'message' && e.payload.value.message!.text.startsWith('offline '),
        ).length >= 100,
      40_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const got = newMessages(sid).filter(
      (e) => e.payload?.$case === 'message' && e.payload.value.message!.text.startsWith('offline '),
    );
    expect(got).toHaveLength(100);
    expect(
      new Set(got.map((e) => (e.payload?.$case === 'message' ? e.payload.value.message!.text : '')))
        .size,
    ).toBe(100);
    expect(got.every((e) => e.recovered)).toBe(true);
    expect(emu.control.counters().authKeyDuplicated).toBe(0);
  });
});
