/**
 * `npm run demo`: a scripted walkthrough of tgbridge against the local stack
 * and the Telegram emulator, for a person to watch. It uses the running stack
 * (`npm start`, found through `.data/stack.json`) or starts one itself.
 *
 * Steps: QR login (the QR is printed in the terminal), the emulator "scans" it,
 * status says connected, a contact writes → the webhook arrives at the demo
 * receiver, the demo replies through send-message → the emulator shows it
 * arrived, the contact edits → message_edited, the connection drops →
 * connection_lost / connection_restored, logout → session_logged_out.
 * Exits 1 at the first step that fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import qrcode from 'qrcode-terminal';
import { DemoClient, type StackInfo } from './demo/client.js';

const dataDir = resolve(process.env.TGBRIDGE_DATA_DIR ?? '.data');
const AGENT_PHONE = '+15550100001';
const CONTACT_PHONE = '+15550100002';

let stepNo = 0;
async function step<T>(title: string, run: () => Promise<T>): Promise<T> {
  stepNo++;
  process.stdout.write(`\n${stepNo}. ${title}\n`);
  try {
    return await run();
  } catch (err) {
    console.error(`   ✖ ${(err as Error).message}`);
    throw new DemoFailed();
  }
}
class DemoFailed extends Error {}
const ok = (line: string) => console.log(`   ✔ ${line}`);

async function readStack(): Promise<StackInfo | undefined> {
  const file = `${dataDir}/stack.json`;
  if (!existsSync(file)) return undefined;
  const info = JSON.parse(readFileSync(file, 'utf8')) as StackInfo;
  try {
    const res = await fetch(`${info.gatewayUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? info : undefined;
  } catch {
    return undefined;
  }
}

async function startStack(): Promise<{ info: StackInfo; child: ChildProcess }> {
  const log = `${dataDir}/stack.log`;
  console.log(`No running stack found: starting one (logs in ${log})...`);
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/stack.ts'], {
    stdio: ['ignore', out, out],
    env: process.env,
  });
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`the stack exited (code ${child.exitCode}); see ${log}`);
    const info = await readStack();
    if (info) return { info, child };
    await new Promise((r) => setTimeout(r, 500));
  }
  child.kill('SIGTERM');
  throw new Error(`the stack did not come up within 240 s; see ${log}`);
}

async function main(): Promise<number> {
  let started: ChildProcess | undefined;
  let info = await readStack();
  if (!info) {
    const s = await startStack();
    info = s.info;
    started = s.child;
  }
  if (!info.emulatorControlUrl) {
    console.error('The demo needs the Telegram emulator; the stack runs against real Telegram.');
    return 1;
  }
  const demo = new DemoClient(info);
  const agentId = `demo-${Date.now().toString(36)}`;
  try {
    const [agent, contact] = await step('Accounts in the emulated Telegram', async () => {
      const a = await demo.ensureUser({
        phone: AGENT_PHONE,
        firstName: 'Sara',
        lastName: 'Agent',
        username: 'sara_agent',
      });
      const c = await demo.ensureUser({
        phone: CONTACT_PHONE,
        firstName: 'Ali',
        lastName: 'Mohammadi',
        username: 'ali_m',
      });
      ok(`agent ${a.phone} (user ${a.id}), contact ${c.phone} (user ${c.id})`);
      return [a, c];
    });

    const qr = await step(`POST /api/telegram/request-qr {agent_id: "${agentId}"}`, async () => {
      const res = await demo.gateway('POST', '/api/telegram/request-qr', { agent_id: agentId });
      ok(`session ${res.session_id}, QR valid ${res.expires_in} s`);
      const status = await demo.gateway('GET', `/api/telegram/status/${res.session_id}`);
      const url = String(status.qr_url);
      qrcode.generate(url, { small: true }, (art: string) =>
        console.log(art.replace(/^/gm, '   ')),
      );
      return { sessionId: String(res.session_id), url };
    });

    await step('The agent scans the QR code with their phone (emulator control API)', async () => {
      const token = new URL(qr.url).searchParams.get('token');
      if (!token) throw new Error(`no token in ${qr.url}`);
      await demo.control('POST', '/login-tokens/accept', { token, user: AGENT_PHONE });
      ok('login token accepted');
    });

    await step(`GET /api/telegram/status/${qr.sessionId} until connected`, async () => {
      const status = await demo.waitFor(
        async () => {
          const s = await demo.gateway('GET', `/api/telegram/status/${qr.sessionId}`);
          return s.connected === true ? s : undefined;
        },
        30_000,
        'status connected',
      );
      ok(`connected: phone ${status.phone}, user_id ${status.user_id}`);
    });

    const inbound = await step(
      'The contact writes to the agent → webhook new_message',
      async () => {
        const text = 'Hello, I would like to buy your product';
        const sent = await demo.control('POST', '/messages', {
          from: CONTACT_PHONE,
          to: AGENT_PHONE,
          text,
        });
        const hook = await demo.waitForWebhook(
          agentId,
          (b) => b.event === 'new_message' && (b.message as { text?: string })?.text === text,
        );
        const message = hook.body.message as { id: number; from: { first_name: string } };
        ok(
          `webhook ${hook.body.event} from ${message.from.first_name}, message ${message.id} (signature verified)`,
        );
        return { contactMessageId: Number(sent.id), agentMessageId: message.id };
      },
    );

    await step('POST /api/telegram/send-message (the agent replies)', async () => {
      const text = 'Hi Ali! How can I help you?';
      const res = await demo.gateway('POST', '/api/telegram/send-message', {
        session_id: qr.sessionId,
        chat_id: contact.id,
        message: text,
        reply_to: inbound.agentMessageId,
      });
      ok(`message_id ${res.message_id}, sent_at ${res.sent_at}`);
      const history = (await demo.control(
        'GET',
        `/users/${encodeURIComponent(CONTACT_PHONE)}/history?peer=${agent.id}&limit=5`,
      )) as unknown as Array<{ text: string }>;
      if (!history.some((m) => m.text === text))
        throw new Error("the reply is not in the contact's chat");
      ok('the contact sees the reply in Telegram');
    });

    await step('The contact edits their message → webhook message_edited', async () => {
      const text = 'Hello, I would like to buy two of your products';
      await demo.control('POST', '/messages/edit', {
        user: CONTACT_PHONE,
        peer: AGENT_PHONE,
        messageId: inbound.contactMessageId,
        text,
      });
      await demo.waitForWebhook(
        agentId,
        (b) => b.event === 'message_edited' && (b.message as { text?: string })?.text === text,
      );
      ok('webhook message_edited');
    });

    await step(
      'Telegram drops the connection for 12 s → connection_lost, connection_restored',
      async () => {
        await demo.control('POST', '/server/refuse', { seconds: 12 });
        await demo.control('POST', '/server/drop', { user: AGENT_PHONE });
        await demo.waitForWebhook(agentId, (b) => b.event === 'connection_lost', 45_000);
        ok('webhook connection_lost');
        await demo.waitForWebhook(agentId, (b) => b.event === 'connection_restored', 60_000);
        ok('webhook connection_restored');
      },
    );

    await step('POST /api/telegram/disconnect → logged out everywhere', async () => {
      await demo.gateway('POST', '/api/telegram/disconnect', { session_id: qr.sessionId });
      const status = await demo.gateway('GET', `/api/telegram/status/${qr.sessionId}`);
      if (status.connected !== false) throw new Error('status still says connected');
      ok(`status ${String(status.status)}`);
      await demo.waitForWebhook(agentId, (b) => b.event === 'session_logged_out');
      ok('webhook session_logged_out');
    });
    console.log('\nDemo complete: every step passed.');
    return 0;
  } catch (err) {
    if (!(err instanceof DemoFailed)) console.error(err);
    console.log('\nDemo failed.');
    return 1;
  } finally {
    if (started) {
      started.kill('SIGTERM');
      await new Promise((r) => started!.once('exit', r));
    }
  }
}

process.exit(await main());
