/**
 * Emulator benchmark (prints figures; not a timed test):
 *   npx tsx bench/emulator.ts            (BENCH_CLIENTS=200 BENCH_MESSAGES=20000 to change)
 *
 * Logs BENCH_CLIENTS real GramJS clients into an in-process emulator, then
 * pushes BENCH_MESSAGES messages round-robin to them through the control API
 * and reports: connections held, server-side push rate (updates encrypted and
 * written per second, measured synchronously: the clients only read afterwards),
 * client-side receive rate (NewMessage events/s, GramJS
 * is usually the bottleneck), and RSS per connection (process RSS delta,
 * which includes the GramJS clients living in the same process: an upper
 * bound for the emulator alone).
 */
import { createTelegramClient, type TelegramClient } from '@tgbridge/telegram';
import { NewMessage } from 'telegram/events/index.js';
import { startEmulator } from '../packages/tg-emulator/src/index.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 200);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20000);
const CONCURRENCY = Number(process.env.BENCH_LOGIN_CONCURRENCY ?? 10);

const mb = (n: number): string => (n / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
  const emu = await startEmulator({ controlPort: null });
  const sender = emu.control.createUser({ phone: '+19990000000', firstName: 'Sender' });
  const phones = Array.from(
    { length: CLIENTS },
    (_, i) => `+1999${String(i + 1).padStart(7, '0')}`,
  );
  for (const [i, phone] of phones.entries()) emu.control.createUser({ phone, firstName: `U${i}` });
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const clients: TelegramClient[] = [];
  let received = 0;
  const t0 = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < phones.length) {
      const phone = phones[next++]!;
      const c = createTelegramClient({
        dc: { host: '127.0.0.1', port: emu.port, dcId: emu.dcId },
        rsaPublicKeyPem: emu.publicKeyPem,
        apiId: 1,
        apiHash: 'bench',
        logLevel: 'none',
      });
      await c.start({
        phoneNumber: phone,
        phoneCode: async () => emu.control.lastCode(phone)!.code,
        onError: (e) => {
          throw e;
        },
      });
      await c.getMe();
      c.addEventHandler(() => void received++, new NewMessage({}));
      clients.push(c);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const loginMs = Date.now() - t0;
  global.gc?.();
  const rssAfter = process.memoryUsage().rss;
  const held = emu.server.connections().filter((c) => c.receivesUpdates).length;
  console.log(
    `clients logged in: ${clients.length} in ${loginMs} ms (${((clients.length / loginMs) * 1000).toFixed(1)} logins/s)`,
  );
  console.log(`update-receiving connections held: ${held}`);
  console.log(
    `RSS: ${mb(rssBefore)} MB → ${mb(rssAfter)} MB, ${((rssAfter - rssBefore) / 1024 / Math.max(1, clients.length)).toFixed(1)} KB per connection (emulator + GramJS client, same process)`,
  );

  const pushedBefore = emu.server.counters.updatesPushed;
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i++) {
    emu.control.sendMessage({
      from: sender.id,
      to: { user: phones[i % phones.length]! },
      text: `bench ${i}`,
    });
  }
  const pushMs = Number(process.hrtime.bigint() - t1) / 1e6;
  const pushed = emu.server.counters.updatesPushed - pushedBefore;
  console.log(
    `server: ${MESSAGES} messages stored and ${pushed} updates pushed in ${pushMs.toFixed(0)} ms → ${((pushed / pushMs) * 1000).toFixed(0)} updates/s`,
  );
  const t2 = Date.now();
  while (received < MESSAGES && Date.now() - t2 < 120_000)
    await new Promise((r) => setTimeout(r, 50));
  const totalMs = pushMs + (Date.now() - t2);
  console.log(
    `clients: ${received}/${MESSAGES} NewMessage events in ${totalMs.toFixed(0)} ms → ${((received / totalMs) * 1000).toFixed(0)} events/s end-to-end`,
  );
  console.log(`final RSS ${mb(process.memoryUsage().rss)} MB`);
  for (const c of clients) await c.destroy().catch(() => undefined);
  await emu.stop();
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
