/**
 * Route-level tests of routes/messages.ts: a fastify instance with only this
 * route module, real NATS and MongoDB-wire servers, and a stand-in connector
 * shard answering `tg.cmd.<session>.>` (the connector itself is tested in
 * services/connector/test). Covers seed 000 send-message shape, the
 * Idempotency-Key mapping, FLOOD_WAIT → 429 + Retry-After, no owner → 409,
 * tenant scoping, streamed media download and multipart upload.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import mongoose from 'mongoose';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { uniqueDbUrl } from '@tgbridge/testinfra';
import { sessionModel } from '@tgbridge/sessions';
import { COMMAND_ERROR_HEADER } from '@tgbridge/proto/subjects';
import {
  CommandError,
  DownloadMediaRequest,
  DownloadMediaResponse,
  SendMediaRequest,
  SendMessageRequest,
  SendMessageResponse,
  UploadFilePartRequest,
} from '@tgbridge/proto/connector/v1/connector';
import { MediaType } from '@tgbridge/proto/common/v1/common';
import type { GatewayDeps } from '../src/deps.js';
import messageRoutes from '../src/routes/messages.js';

describe('messages routes', () => {
  let app: FastifyInstance;
  let nc: NatsConnection;
  let db: mongoose.Connection;
  let url: string;
  const live = randomUUID();
  const offline = randomUUID();
  const foreign = randomUUID();
  const seen: SendMessageRequest[] = [];
  const file = randomBytes(1_300_000);
  const uploaded = new Map<string, Buffer[]>();
  let sentMedia: { req: SendMediaRequest; bytes: Buffer } | undefined;
  let flood = false;

  beforeAll(async () => {
    nc = await connect({ servers: inject('natsUrl') });
    db = await mongoose.createConnection(uniqueDbUrl(inject('mongoUrl'), 'gwmsg')).asPromise();
    const m = sessionModel(db);
    for (const [id, tenantId] of [
      [live, 't1'],
      [offline, 't1'],
      [foreign, 't2'],
    ] as const) {
      await m.create({
        _id: id,
        tenantId,
        agentId: 'a1',
        status: 'connected',
        method: 'qr',
        eventSequence: 0,
      });
    }
    // the stand-in connector shard for `live`
    nc.subscribe(`tg.cmd.${live}.>`, {
      callback: (_e, msg) => {
        const cmd = msg.subject.split('.').at(-1);
        const fail = (ce: CommandError) => {
          const h = natsHeaders();
          h.set(COMMAND_ERROR_HEADER, ce.code);
          msg.respond(JSON.stringify(CommandError.toJSON(ce)), { headers: h });
        };
        if (cmd === 'send_message') {
          if (flood) return fail({ code: 'FLOOD_WAIT', message: 'wait', retryAfterSeconds: 42 });
          const req = SendMessageRequest.fromJSON(msg.json());
          seen.push(req);
          return void msg.respond(
            JSON.stringify(
              SendMessageResponse.toJSON({
                messageId: 77,
                sentAt: new Date('2025-01-02T03:04:05Z'),
                duplicate: false,
                message: undefined,
              }),
            ),
          );
        }
        if (cmd === 'download_media') {
          const req = DownloadMediaRequest.fromJSON(msg.json());
          const off = Number(req.offset);
          const data = file.subarray(off, off + req.limit);
          const media =
            off === 0
              ? {
                  type: MediaType.DOCUMENT,
                  mimeType: 'application/pdf',
                  size: String(file.length),
                  fileName: 'r.pdf',
                  downloadable: true,
                }
              : undefined;
          return void msg.respond(
            JSON.stringify(
              DownloadMediaResponse.toJSON({
                data,
                offset: req.offset,
                eof: off + data.length >= file.length,
                media,
              }),
            ),
          );
        }
        if (cmd === 'upload_file_part') {
          const req = UploadFilePartRequest.fromJSON(msg.json());
          const parts = uploaded.get(req.uploadId) ?? [];
          parts[req.part] = req.data;
          uploaded.set(req.uploadId, parts);
          return void msg.respond(JSON.stringify({ partsReceived: parts.length }));
        }
        if (cmd === 'send_media') {
          const req = SendMediaRequest.fromJSON(msg.json());
          const bytes =
            req.source?.$case === 'uploadId'
              ? Buffer.concat(uploaded.get(req.source.value) ?? [])
              : req.source?.$case === 'data'
                ? req.source.value
                : Buffer.alloc(0);
          sentMedia = { req, bytes };
          return void msg.respond(
            JSON.stringify({ messageId: 78, sentAt: '2025-01-02T03:04:05Z' }),
          );
        }
        fail({ code: 'INTERNAL', message: 'unexpected', retryAfterSeconds: 0 });
      },
    });
    await nc.flush();
    app = Fastify();
    app.addHook('onRequest', async (req) => {
      req.principal = { tenantId: 't1', keyId: 'k1', admin: false };
    });
    const deps = { nats: nc, mongo: db } as unknown as GatewayDeps;
    await app.register(async (a) => messageRoutes(a, deps));
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app?.close();
    await nc?.close();
    await db?.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('send-message answers seed 000 shape and maps Idempotency-Key', async () => {
    const r = await post(
      '/api/telegram/send-message',
      { session_id: live, chat_id: 12345, message: 'hi', reply_to: 5 },
      { 'idempotency-key': 'abc' },
    );
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      success: true,
      message_id: 77,
      sent_at: '2025-01-02T03:04:05.000Z',
    });
    expect(seen.at(-1)).toMatchObject({
      sessionId: live,
      chatId: '12345',
      text: 'hi',
      replyToMessageId: 5,
      idempotencyKey: 'abc',
    });
  });

  it('FLOOD_WAIT → 429 with Retry-After', async () => {
    flood = true;
    const r = await post('/api/telegram/send-message', {
      session_id: live,
      chat_id: 1,
      message: 'x',
    });
    flood = false;
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('42');
    expect(await r.json()).toMatchObject({ success: false, code: 'FLOOD_WAIT', retry_after: 42 });
  });

  it('no owning shard → 409 SESSION_NOT_CONNECTED; other tenant → 404', async () => {
    const r = await post('/api/telegram/send-message', {
      session_id: offline,
      chat_id: 1,
      message: 'x',
    });
    expect(r.status).toBe(409);
    expect(await r.json()).toMatchObject({ success: false, code: 'SESSION_NOT_CONNECTED' });
    const f = await post('/api/telegram/send-message', {
      session_id: foreign,
      chat_id: 1,
      message: 'x',
    });
    expect(f.status).toBe(404);
  });

  it('streams a media download byte-exact with its metadata', async () => {
    const r = await fetch(`${url}/api/telegram/media/${live}/12345/9`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/pdf');
    expect(r.headers.get('content-disposition')).toContain('r.pdf');
    expect(Buffer.from(await r.arrayBuffer()).equals(file)).toBe(true);
  });

  it('uploads a document by multipart in ≤ 512 KiB parts', async () => {
    const form = new FormData();
    form.set('session_id', live);
    form.set('chat_id', '-100123');
    form.set('type', 'document');
    form.set('caption', 'see attached');
    form.set('file', new Blob([file]), 'big.bin');
    const r = await fetch(`${url}/api/telegram/send-media`, { method: 'POST', body: form });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ success: true, message_id: 78 });
    expect(sentMedia?.req).toMatchObject({
      chatId: '-100123',
      type: MediaType.DOCUMENT,
      fileName: 'big.bin',
      caption: 'see attached',
    });
    expect(sentMedia?.bytes.equals(file)).toBe(true);
  });
});
