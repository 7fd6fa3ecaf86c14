import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Server, ServerCredentials, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { ChatType, MediaType, SessionStatus } from '@tgbridge/proto/common/v1/common';
import { Event } from '@tgbridge/proto/events/v1/events';
import {
  AuthServiceClient,
  AuthServiceService,
  CodeType,
  LoginMethod,
  LoginState,
  type AuthServiceServer,
  type SubmitCodeRequest,
  type SubmitCodeResponse,
} from '@tgbridge/proto/auth/v1/auth';
import { CommandError, SendMessageRequest } from '@tgbridge/proto/connector/v1/connector';
import { loginError, readLoginError, LOGIN_ERROR_METADATA_KEY } from '@tgbridge/proto/login-error';
import { Command, commandSubject, eventSubject, isSubjectToken } from '@tgbridge/proto/subjects';

const SESSION = '7d3c9a52-0b1e-4f61-9d2a-5c8e1f0a33e1';

// Seed 000's webhook message, as an Event on NATS (canonical proto3 JSON).
const canonicalNewMessage = {
  eventId: 'evt_7d3c9a52_987654321_123456',
  type: 'new_message',
  tenantId: 'acme',
  agentId: '123',
  sessionId: SESSION,
  occurredAt: '2025-12-20T10:30:01.250Z',
  sequence: '9007199254740993', // > 2^53: must survive as a string
  recovered: true,
  message: {
    message: {
      id: 123456,
      from: {
        id: '987654321',
        firstName: 'علی',
        lastName: 'محمدی',
        username: 'ali_m',
        phone: '+989123456789',
      },
      chat: { id: '987654321', type: 'CHAT_TYPE_PRIVATE' },
      text: 'سلام، می‌خوام محصولتون رو بخرم',
      date: '2025-12-20T10:30:00.000Z',
      media: {
        type: 'MEDIA_TYPE_DOCUMENT',
        mimeType: 'application/pdf',
        size: '10485760',
        fileName: 'invoice.pdf',
        downloadable: true,
      },
      groupedId: '13852438419485697',
    },
  },
};

describe('events: canonical JSON', () => {
  it('round-trips an Event through JSON with int64 as strings and RFC 3339 timestamps', () => {
    const event = Event.fromJSON(canonicalNewMessage);
    expect(event.sequence).toBe('9007199254740993');
    expect(event.occurredAt).toBeInstanceOf(Date);
    expect(event.payload?.$case).toBe('message');
    if (event.payload?.$case !== 'message') throw new Error('unreachable');
    const msg = event.payload.value.message;
    expect(msg?.from?.id).toBe('987654321');
    expect(msg?.chat?.type).toBe(ChatType.PRIVATE);
    expect(msg?.replyToMessageId).toBeUndefined(); // absent -> webhook null
    expect(msg?.media?.type).toBe(MediaType.DOCUMENT);

    const json = Event.toJSON(event);
    expect(json).toEqual(canonicalNewMessage);
    // What goes on the wire is plain JSON text; parse it back the same way.
    const text = JSON.stringify(json);
    expect(Event.toJSON(Event.fromJSON(JSON.parse(text)))).toEqual(canonicalNewMessage);
    // Binary encoding agrees too.
    expect(Event.decode(Event.encode(event).finish())).toEqual(event);
  });

  it('accepts second-precision RFC 3339 and proto field names on input', () => {
    const event = Event.fromJSON({
      event_id: 'e1',
      type: 'session_expired',
      tenant_id: 't',
      agent_id: 'a',
      session_id: SESSION,
      occurred_at: '2025-12-20T10:30:00Z',
      sequence: 7,
      session: { status: 'SESSION_STATUS_EXPIRED', reason: 'AUTH_KEY_UNREGISTERED' },
    });
    expect(event.occurredAt?.toISOString()).toBe('2025-12-20T10:30:00.000Z');
    expect(event.sequence).toBe('7');
    expect(event.payload).toEqual({
      $case: 'session',
      value: {
        status: SessionStatus.EXPIRED,
        reason: 'AUTH_KEY_UNREGISTERED',
        user: undefined,
        lostAt: undefined,
      },
    });
    expect(Event.toJSON(event)).toMatchObject({
      eventId: 'e1',
      occurredAt: '2025-12-20T10:30:00.000Z',
      sequence: '7',
      session: { status: 'SESSION_STATUS_EXPIRED' },
    });
  });

  it('builds subjects and refuses tokens that would break them', () => {
    expect(
      eventSubject({ tenantId: 'acme', agentId: '123', sessionId: SESSION, type: 'new_message' }),
    ).toBe(`tg.evt.acme.123.${SESSION}.new_message`);
    expect(commandSubject(SESSION, Command.SendMessage)).toBe(`tg.cmd.${SESSION}.send_message`);
    expect(isSubjectToken('a.b')).toBe(false);
    expect(() =>
      eventSubject({ tenantId: 'a*', agentId: '1', sessionId: SESSION, type: 'x' }),
    ).toThrow(/tenantId/);
  });

  it('keeps command payloads JSON-safe', () => {
    const req = SendMessageRequest.fromJSON({
      sessionId: SESSION,
      chatId: '-1001234567890',
      text: 'hi',
      idempotencyKey: 'k1',
    });
    expect(req.chatId).toBe('-1001234567890');
    expect(req.replyToMessageId).toBeUndefined();
    expect(SendMessageRequest.toJSON(req)).toEqual({
      sessionId: SESSION,
      chatId: '-1001234567890',
      text: 'hi',
      idempotencyKey: 'k1',
    });
    expect(
      CommandError.toJSON({ code: 'FLOOD_WAIT', message: 'wait', retryAfterSeconds: 30 }),
    ).toEqual({
      code: 'FLOOD_WAIT',
      message: 'wait',
      retryAfterSeconds: 30,
    });
  });
});

describe('auth: gRPC over @grpc/grpc-js', () => {
  let server: Server;
  let client: AuthServiceClient;
  const seenCodes: string[] = [];

  const state = (patch: Partial<LoginState>): LoginState =>
    LoginState.fromPartial({ sessionId: SESSION, tenantId: 'acme', agentId: '123', ...patch });

  const unimplemented = (_call: unknown, callback: (e: Partial<ServiceError>) => void) =>
    callback({ code: status.UNIMPLEMENTED });

  beforeAll(async () => {
    const impl: AuthServiceServer = {
      startQrLogin: (call, callback) => {
        const expiresAt = new Date(Date.now() + 30_000);
        callback(null, {
          state: state({
            agentId: call.request.agentId,
            status: SessionStatus.PENDING,
            method: LoginMethod.QR,
            qr: {
              url: 'tg://login?token=AQID',
              pngDataUrl: 'data:image/png;base64,iVBORw0KG',
              expiresAt,
              expiresIn: 30,
            },
            expiresIn: 300,
          }),
        });
      },
      startPhoneLogin: (call, callback) => {
        if (!call.request.phone.startsWith('+')) {
          callback(
            loginError('PHONE_NUMBER_INVALID', 'phone must be in international format'),
            null,
          );
          return;
        }
        callback(null, {
          state: state({
            status: SessionStatus.AWAITING_CODE,
            method: LoginMethod.PHONE,
            phone: call.request.phone,
            code: { type: CodeType.APP, nextType: CodeType.SMS, timeout: 60, length: 5 },
          }),
        });
      },
      submitCode: (call, callback) => {
        seenCodes.push(call.request.code);
        if (call.request.code === '00000') {
          callback(loginError('FLOOD_WAIT', 'too many attempts', 42), null);
          return;
        }
        if (call.request.code !== '12345') {
          callback(loginError('PHONE_CODE_INVALID', 'the code is wrong'), null);
          return;
        }
        callback(null, {
          state: state({
            status: SessionStatus.CONNECTED,
            user: {
              id: '9007199254740993',
              firstName: 'Ali',
              phone: '+989123456789',
              isBot: false,
            },
          }),
        });
      },
      resendCode: unimplemented,
      submitPassword: unimplemented,
      getLoginStatus: unimplemented,
      cancelLogin: unimplemented,
      logOut: unimplemented,
    };
    server = new Server();
    server.addService(AuthServiceService, impl);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    client = new AuthServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await new Promise<void>((resolve) =>
      server ? server.tryShutdown(() => resolve()) : resolve(),
    );
  });

  const submitCode = (req: Partial<SubmitCodeRequest>) =>
    new Promise<SubmitCodeResponse>((resolve, reject) =>
      client.submitCode({ tenantId: 'acme', sessionId: SESSION, code: '', ...req }, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );

  it('serves StartQrLogin with Date and enum fields intact', async () => {
    const res = await new Promise<LoginState | undefined>((resolve, reject) =>
      client.startQrLogin(
        { tenantId: 'acme', agentId: '123', apiCredentials: undefined },
        (err, r) => (err ? reject(err) : resolve(r.state)),
      ),
    );
    expect(res?.status).toBe(SessionStatus.PENDING);
    expect(res?.method).toBe(LoginMethod.QR);
    expect(res?.qr?.url).toMatch(/^tg:\/\/login\?token=/);
    expect(res?.qr?.expiresAt).toBeInstanceOf(Date);
    expect(res?.expiresIn).toBe(300);
  });

  it('carries a 64-bit user id as a string', async () => {
    const res = await submitCode({ code: '12345' });
    expect(res.state?.status).toBe(SessionStatus.CONNECTED);
    expect(res.state?.user?.id).toBe('9007199254740993');
    expect(seenCodes).toContain('12345');
  });

  it('returns errors as gRPC statuses with LoginError in the trailers', async () => {
    const invalid = (await submitCode({ code: '99999' }).catch((e: unknown) => e)) as ServiceError;
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(readLoginError(invalid)).toEqual({
      reason: 'PHONE_CODE_INVALID',
      retryAfterSeconds: 0,
      message: 'the code is wrong',
    });

    const flood = (await submitCode({ code: '00000' }).catch((e: unknown) => e)) as ServiceError;
    expect(flood.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(flood.metadata.get(LOGIN_ERROR_METADATA_KEY)).toHaveLength(1);
    expect(readLoginError(flood)).toMatchObject({ reason: 'FLOOD_WAIT', retryAfterSeconds: 42 });

    const phone = await new Promise<ServiceError | null>((resolve) =>
      client.startPhoneLogin(
        { tenantId: 'acme', agentId: '123', phone: '0912', apiCredentials: undefined },
        (err) => resolve(err),
      ),
    );
    expect(phone?.code).toBe(status.INVALID_ARGUMENT);
    expect(readLoginError(phone)?.reason).toBe('PHONE_NUMBER_INVALID');

    const unimpl = await new Promise<ServiceError | null>((resolve) =>
      client.logOut({ tenantId: 'acme', sessionId: SESSION }, (err) => resolve(err)),
    );
    expect(unimpl?.code).toBe(status.UNIMPLEMENTED);
    expect(readLoginError(unimpl)).toBeUndefined();
  });
});
