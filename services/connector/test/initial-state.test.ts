/**
 * No loss when a shard dies before it wrote a session's update state:
 *
 * 1. A session that starts without a stored update state (a
 * session document without `updateState`, e.g. one whose login did not
 * record it): the connector initialises the state from updates.getState on
 * its first connect, and that state must be in MongoDB before the session
 * counts as live. Otherwise a shard that dies before its first periodic
 * checkpoint leaves the document without a state, the next owner
 * initialises it again from the *current* state, and every message that
 * arrived in between is never published.
 * 2. A channel the session joins while live: its pts must be stored before
 *    its first post is published, or the next owner (whose stored state
 *    lacks the channel) takes the channel's current pts from
 *    updates.getDifference and skips the posts in between.
 *
 * Real nats-server (a private one: its stream covers tg.evt.>), the suite's
 * MongoDB-wire server, the in-process emulator, connector shards as
 * processes with real GramJS.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import mongoose from 'mongoose';
import { startNats, uniqueDbUrl, uniqueName } from '@tgbridge/testinfra';
import type { RunningEmulator } from '@tgbridge/tg-emulator';
import { sessionModel } from '@tgbridge/sessions';
import { EventType } from '@tgbridge/proto/subjects';
import {
  EventLog,
  emulator,
  keySpec,
  login,
  startShard,
  stopShard,
  waitFor,
  writeSession,
  type Shard,
} from './harness.js';

const TENANT = 'initstate';

describe('a session without a stored update state', () => {
  let emu: RunningEmulator;
  let nats: Awaited<ReturnType<typeof startNats>>;
  let db: mongoose.Connection;
  let log: EventLog;
  let env: Record<string, string>;
  const shards: Shard[] = [];

  beforeAll(async () => {
    emu = await emulator();
    nats = await startNats({ reuseEnv: false });
    db = await mongoose
      .createConnection(uniqueDbUrl(inject('mongoUrl'), 'connector-init'))
      .asPromise();
    const stream = uniqueName('TGEVTINIT');
    env = {
      NATS_URL: nats.url,
      MONGO_URL: `${inject('mongoUrl').replace(/\/$/, '')}/${db.name}`,
      SESSION_ENCRYPTION_KEYS: keySpec(),
      TELEGRAM_DC: `${emu.host}:${emu.port}/${emu.dcId}`,
      TELEGRAM_RSA_PUBLIC_KEY: emu.publicKeyPem,
      EVENTS_STREAM: stream,
      SHARDS_BUCKET: uniqueName('shards'),
      LEASES_BUCKET: uniqueName('leases'),
    };
  });

  afterAll(async () => {
    await Promise.all(shards.map((s) => stopShard(s)));
    await log?.close();
    await db?.close();
    await emu?.stop();
    await nats?.stop();
  });

  it('keeps the messages that arrive after its first connect when its shard dies before a checkpoint', async () => {
    const customer = emu.control.createUser({ phone: '+15550019999', firstName: 'Carol' });
    const acc = await login(emu, '+15550011000', 'Agent');
    const sid = await writeSession(db, env.SESSION_ENCRYPTION_KEYS!, acc, TENANT, 'agent0');
    expect((await sessionModel(db).findById(sid).lean())?.updateState).toBeUndefined();

    // First shard: periodic checkpoints effectively off, so only a write made
    // as part of going live can store the initial state.
    const first = startShard('init-0', { ...env, STATE_FLUSH_INTERVAL_MS: '3600000' });
    shards.push(first);
    log = await EventLog.open(nats.url, env.EVENTS_STREAM!, TENANT);
    await waitFor(
      'the session live on the first shard',
      () => log.of(sid, EventType.SessionConnected).length > 0,
      60_000,
    );
    const hello = 'while live';
    emu.control.sendMessage({ from: customer.id, to: { user: acc.userId }, text: hello });
    await waitFor('the live message', () => texts(log, sid).includes(hello), 20_000);

    // Crash: no graceful hand-off, no final checkpoint.
    first.proc.kill('SIGKILL');
    await first.exited;
    const missed = Array.from({ length: 5 }, (_, i) => `while down ${i}`);
    for (const text of missed)
      emu.control.sendMessage({ from: customer.id, to: { user: acc.userId }, text });

    const second = startShard('init-1', env);
    shards.push(second);
    await waitFor(
      'the session live on the second shard',
      () => log.of(sid, EventType.SessionConnected).length > 1,
      60_000,
    );
    await waitFor(
      'the missed messages',
      () => missed.every((t) => texts(log, sid).includes(t)),
      20_000,
    );
    const got = texts(log, sid).filter((t) => t.startsWith('while down '));
    expect([...new Set(got)].sort()).toEqual([...missed].sort());
    expect(emu.control.counters().authKeyDuplicated).toBe(0);
  }, 180_000);

  it('keeps the posts of a channel joined while live when its shard dies before a checkpoint', async () => {
    await Promise.all(shards.map((s) => stopShard(s)));
    shards.length = 0;
    const author = emu.control.createUser({ phone: '+15550029999', firstName: 'Ann' });
    const acc = await login(emu, '+15550021000', 'Member');
    const sid = await writeSession(db, env.SESSION_ENCRYPTION_KEYS!, acc, TENANT, 'agent1');
    const first = startShard('chan-0', { ...env, STATE_FLUSH_INTERVAL_MS: '3600000' });
    shards.push(first);
    await waitFor(
      'the session live on the first shard',
      () => log.of(sid, EventType.SessionConnected).length > 0,
      60_000,
    );
    // Joined after the initial state was stored: the channel is new to the session.
    const { channelId } = emu.control.createChannel({
      creator: author.id,
      title: 'news',
      members: [acc.userId],
      megagroup: true,
    });
    const to = { channel: channelId };
    emu.control.sendMessage({ from: author.id, to, text: 'post while live' });
    await waitFor('the live post', () => texts(log, sid).includes('post while live'), 20_000);

    first.proc.kill('SIGKILL');
    await first.exited;
    const missed = Array.from({ length: 5 }, (_, i) => `post while down ${i}`);
    for (const text of missed) emu.control.sendMessage({ from: author.id, to, text });

    shards.push(startShard('chan-1', env));
    await waitFor(
      'the missed posts',
      () => missed.every((t) => texts(log, sid).includes(t)),
      40_000,
    );
    const got = texts(log, sid).filter((t) => t.startsWith('post while down '));
    expect([...new Set(got)].sort()).toEqual([...missed].sort());
    expect(emu.control.counters().authKeyDuplicated).toBe(0);
  }, 180_000);
});

/** Texts of the new_message events of a session on the stream. */
function texts(log: EventLog, sid: string): string[] {
  return log
    .of(sid, EventType.NewMessage)
    .map((e) => (e.payload?.$case === 'message' ? (e.payload.value.message?.text ?? '') : ''));
}
