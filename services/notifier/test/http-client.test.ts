/**
 * The webhook HTTP client against real receivers on 127.0.0.1: https with
 * SNI and certificate checks, the SSRF check on the address connected,
 * the whole-attempt timeout, the response body cap, no redirects.
 *
 * fixtures/localhost-*.pem: a self-signed certificate for localhost and
 * 127.0.0.1, made for this test only (its key protects nothing).
 */
import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEEP_BODY_BYTES, WebhookHttpClient } from '../src/infra/http-client.js';

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url));
const cert = fixture('localhost-cert.pem');
const key = fixture('localhost-key.pem');

type Handler = (
  req: IncomingMessage,
  body: string,
) => { status: number; body?: string; headers?: Record<string, string> } | null;

interface Target {
  port: number;
  requests: Array<{ path: string; headers: IncomingMessage['headers']; body: string }>;
  handler: Handler;
  server: Server;
}

async function target(secure: boolean): Promise<Target> {
  const t: Target = {
    port: 0,
    requests: [],
    handler: () => ({ status: 200, body: 'ok' }),
    server: undefined as unknown as Server,
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      t.requests.push({ path: req.url ?? '', headers: req.headers, body });
      const reply = t.handler(req, body);
      if (reply === null) return; // hang
      res
        .writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers })
        .end(reply.body ?? '');
    });
  };
  t.server = secure ? createHttpsServer({ cert, key }, listener) : createHttpServer(listener);
  await new Promise<void>((ok) => t.server.listen(0, '127.0.0.1', ok));
  t.port = (t.server.address() as AddressInfo).port;
  return t;
}

const allowLoopback = { allowHttp: true, allowPrivate: false, allowedCidrs: ['127.0.0.1/32'] };
const post = (url: string, timeoutMs = 5000) => ({
  url,
  headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' },
  body: '{"event":"new_message"}',
  timeoutMs,
});

let plain: Target;
let tls: Target;
let client: WebhookHttpClient;

beforeAll(async () => {
  plain = await target(false);
  tls = await target(true);
  client = new WebhookHttpClient(allowLoopback, 4, { ca: cert });
});

afterAll(async () => {
  client?.close();
  for (const t of [plain, tls]) {
    t?.server.closeAllConnections();
    t?.server.close();
  }
});

describe('webhook HTTP client', () => {
  it('POSTs over https with SNI and a verified certificate; the body and headers arrive as sent', async () => {
    const r = await client.post(post(`https://localhost:${tls.port}/hooks/a?x=1`));
    expect(r.error).toBeUndefined();
    expect(r.statusCode).toBe(200);
    expect(r.responseBody).toBe('ok');
    expect(r.headers?.['content-type']).toBe('text/plain');
    const got = tls.requests.at(-1)!;
    expect(got.path).toBe('/hooks/a?x=1');
    expect(got.body).toBe('{"event":"new_message"}');
    expect(got.headers['webhook-id']).toBe('msg_1');
    expect(got.headers['content-length']).toBe('23');
  });

  it('refuses an https target whose certificate does not verify', async () => {
    const strict = new WebhookHttpClient(allowLoopback, 4);
    try {
      const before = tls.requests.length;
      const r = await strict.post(post(`https://localhost:${tls.port}/hook`));
      expect(r.statusCode).toBeUndefined();
      expect(r.error).toMatch(/certificate/i);
      expect(tls.requests.length).toBe(before);
    } finally {
      strict.close();
    }
  });

  it('checks the address connected: a hostname resolving to 127.0.0.1 is refused without the allow-list', async () => {
    const strict = new WebhookHttpClient(
      { allowHttp: true, allowPrivate: false, allowedCidrs: [] },
      4,
    );
    try {
      const before = plain.requests.length;
      const r = await strict.post(post(`http://localhost:${plain.port}/hook`));
      expect(r.error).toMatch(/^refused target: .*127\.0\.0\.1.*not allowed/);
      const raw = await strict.post(post(`http://127.0.0.1:${plain.port}/hook`));
      expect(raw.error).toMatch(/^refused target: target address is not public \(loopback\)/);
      expect(plain.requests.length).toBe(before);
    } finally {
      strict.close();
    }
  });

  it('refuses http: targets unless allowed', async () => {
    const httpsOnly = new WebhookHttpClient({ ...allowLoopback, allowHttp: false }, 4);
    try {
      const r = await httpsOnly.post(post(`http://127.0.0.1:${plain.port}/hook`));
      expect(r.error).toMatch(/^refused target: http: targets are not allowed/);
    } finally {
      httpsOnly.close();
    }
  });

  it('bounds the whole attempt by timeoutMs', async () => {
    plain.handler = () => null;
    try {
      const r = await client.post(post(`http://127.0.0.1:${plain.port}/hang`, 300));
      expect(r.statusCode).toBeUndefined();
      expect(r.error).toBe('timeout after 300 ms');
      expect(r.latencyMs).toBeGreaterThanOrEqual(290);
      expect(r.latencyMs).toBeLessThan(3000);
    } finally {
      plain.handler = () => ({ status: 200, body: 'ok' });
    }
    // the connection pool still works afterwards
    expect((await client.post(post(`http://127.0.0.1:${plain.port}/hook`))).statusCode).toBe(200);
  });

  it(`keeps the first ${KEEP_BODY_BYTES} bytes of a large response`, async () => {
    plain.handler = () => ({ status: 500, body: 'x'.repeat(300 * 1024) });
    try {
      const r = await client.post(post(`http://127.0.0.1:${plain.port}/big`));
      expect(r.statusCode).toBe(500);
      expect(r.responseBody).toBe('x'.repeat(KEEP_BODY_BYTES));
    } finally {
      plain.handler = () => ({ status: 200, body: 'ok' });
    }
    expect((await client.post(post(`http://127.0.0.1:${plain.port}/hook`))).statusCode).toBe(200);
  });

  it('does not follow redirects', async () => {
    plain.handler = (req) =>
      req.url === '/from'
        ? { status: 302, headers: { location: `http://127.0.0.1:${plain.port}/to` } }
        : { status: 200, body: 'followed' };
    try {
      const before = plain.requests.length;
      const r = await client.post(post(`http://127.0.0.1:${plain.port}/from`));
      expect(r.statusCode).toBe(302);
      expect(plain.requests.length).toBe(before + 1);
    } finally {
      plain.handler = () => ({ status: 200, body: 'ok' });
    }
  });
});
