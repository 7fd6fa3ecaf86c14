import { Writable } from 'node:stream';
import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.js';
import { createLogger } from '../src/logging.js';
import { startTelemetry } from '../src/telemetry.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().trim().split('\n'));
      cb();
    },
  });
  return {
    destination,
    lines,
    json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  beforeAll(() => {
    // context manager + propagator, no export, no auto-instrumentation
    startTelemetry({ serviceName: 'logging-test', instrumentations: false });
  });

  it('redacts every kind of secret wherever it sits', () => {
    const out = capture();
    const log = createLogger({ service: 'auth', destination: out.destination, level: 'debug' });
    const secrets = {
      authorization: 'Bearer SECRET-bearer-1',
      apiKey: 'SECRET-apikey-2',
      api_key: 'SECRET-apikey-3',
      session: '1BQANSECRET-session-4',
      sessionString: '1BQANSECRET-session-5',
      session_string: '1BQANSECRET-session-6',
      code: 'SECRET-7',
      phoneCodeHash: 'SECRET-hash-8',
      password: 'SECRET-password-9',
      secret: 'SECRET-10',
      token: 'SECRET-token-11',
    };
    log.info(
      {
        req: {
          method: 'POST',
          headers: {
            authorization: 'Bearer SECRET-h1',
            'x-api-key': 'SECRET-h2',
            cookie: 'SECRET-h3',
          },
        },
      },
      'request',
    );
    log.info({ headers: { 'x-api-key': 'SECRET-h4' } }, 'headers at top');
    log.info(secrets, 'top level');
    log.info({ login: secrets }, 'one level');
    log.debug({ flow: { step: { input: secrets } } }, 'three levels');
    log.warn({ body: { phone: '+15550100', code: 'SECRET-code-12' } }, 'nested code');

    const text = out.lines.join('\n');
    expect(text).not.toMatch(/SECRET/);
    const [req, , top, one, deep, nested] = out.json();
    expect(
      (req as { req: { headers: Record<string, string>; method: string } }).req.headers
        .authorization,
    ).toBe('[redacted]');
    expect((req as { req: { method: string } }).req.method).toBe('POST');
    expect(top?.password).toBe('[redacted]');
    expect((one?.login as Record<string, string>).sessionString).toBe('[redacted]');
    expect(
      (deep?.flow as Record<string, Record<string, Record<string, string>>>).step!.input!.token,
    ).toBe('[redacted]');
    expect((nested?.body as Record<string, string>).phone).toBe('+15550100'); // not over-redacted
  });

  it('writes JSON with service, ISO time and level label; error codes survive', () => {
    const out = capture();
    const log = createLogger({ service: 'notifier', destination: out.destination });
    log.error({ err: new AppError('WEBHOOK_FAILED', 'endpoint returned 500') }, 'delivery failed');
    const [line] = out.json();
    expect(line).toMatchObject({ service: 'notifier', level: 'error', msg: 'delivery failed' });
    expect(typeof line?.time).toBe('string');
    expect((line?.err as Record<string, string>).errorCode).toBe('WEBHOOK_FAILED');
  });

  it('adds trace_id/span_id of the active span to every line', () => {
    const out = capture();
    const log = createLogger({ service: 'connector', destination: out.destination });
    const span = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
    };
    context.with(trace.setSpanContext(ROOT_CONTEXT, span), () => log.info('inside'));
    log.info('outside');
    const [inside, outside] = out.json();
    expect(inside).toMatchObject({
      trace_id: span.traceId,
      span_id: span.spanId,
      trace_flags: '01',
    });
    expect(outside?.trace_id).toBeUndefined();
  });
});
