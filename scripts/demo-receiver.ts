/**
 * A demo CRM webhook receiver for the local stack: it plays the Laravel side of
 * seed 000 (`POST /api/webhooks/telegram/{agent_id}`), checks the
 * `Authorization: Bearer {WEBHOOK_SECRET_TOKEN}` header, verifies every call
 * with the official Standard Webhooks library (webhook-id, webhook-timestamp,
 * webhook-signature; https://github.com/standard-webhooks/standard-webhooks)
 * and prints it. It answers 401 to a call that fails either check.
 *
 * Env: DEMO_RECEIVER_HOST (default 127.0.0.1; 0.0.0.0 in a container),
 * DEMO_RECEIVER_PORT (default 8090), WEBHOOK_SECRET_TOKEN (the Bearer
 * token), WEBHOOK_SIGNING_SECRET (whsec_… secret; checks skipped when unset).
 * `GET /events` returns the verified calls received so far (the demo script
 * polls it).
 */
import { createServer, type IncomingMessage } from 'node:http';
import { Webhook } from 'standardwebhooks';

/** One verified webhook call as kept in memory and returned by GET /events. */
export interface ReceivedWebhook {
  agentId: string;
  webhookId: string;
  receivedAt: string;
  body: Record<string, unknown>;
}

const host = process.env.DEMO_RECEIVER_HOST ?? '127.0.0.1';
const port = Number(process.env.DEMO_RECEIVER_PORT ?? 8090);
const bearer = process.env.WEBHOOK_SECRET_TOKEN;
const signingSecret = process.env.WEBHOOK_SIGNING_SECRET;
const verifier = signingSecret ? new Webhook(signingSecret) : undefined;
const received: ReceivedWebhook[] = [];
const MAX_KEPT = 1000;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

function describe(body: Record<string, unknown>): string {
  const message = body.message as { text?: string; chat?: { id?: unknown } } | undefined;
  const parts = [`${String(body.event)}`, `session=${String(body.session_id)}`];
  if (message?.chat?.id !== undefined) parts.push(`chat=${String(message.chat.id)}`);
  if (message?.text !== undefined) parts.push(`text=${JSON.stringify(message.text)}`);
  return parts.join(' ');
}

const server = createServer((req, res) => {
  void (async () => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/events') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(received));
      return;
    }
    const match = /^\/api\/webhooks\/telegram\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'POST' || !match) {
      res.writeHead(404).end();
      return;
    }
    const raw = await readBody(req);
    if (bearer && header(req, 'authorization') !== `Bearer ${bearer}`) {
      console.log(`[demo-receiver] REJECTED (bad Bearer token) ${url.pathname}`);
      res.writeHead(401).end();
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = verifier
        ? (verifier.verify(raw, {
            'webhook-id': header(req, 'webhook-id'),
            'webhook-timestamp': header(req, 'webhook-timestamp'),
            'webhook-signature': header(req, 'webhook-signature'),
          }) as Record<string, unknown>)
        : (JSON.parse(raw) as Record<string, unknown>);
    } catch (err) {
      console.log(`[demo-receiver] REJECTED (${(err as Error).message}) ${url.pathname}`);
      res.writeHead(401).end();
      return;
    }
    const entry: ReceivedWebhook = {
      agentId: decodeURIComponent(match[1]!),
      webhookId: header(req, 'webhook-id'),
      receivedAt: new Date().toISOString(),
      body,
    };
    received.push(entry);
    if (received.length > MAX_KEPT) received.shift();
    const check = verifier ? 'signature verified' : 'unsigned';
    console.log(`[demo-receiver] agent ${entry.agentId}: ${describe(body)} (${check})`);
    res.writeHead(204).end();
  })().catch((err: unknown) => {
    console.error('[demo-receiver] error', err);
    res.writeHead(500).end();
  });
});

server.listen(port, host, () => {
  console.log(`[demo-receiver] listening on http://${host}:${port}`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
