import { context, propagation, trace } from '@opentelemetry/api';
import { headers } from '@nats-io/transport-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  extractTraceContext,
  getTracer,
  injectTraceHeaders,
  mongoStatement,
  startTelemetry,
  traceHandle,
  traceRequest,
} from '../src/telemetry.js';

const exporter = new InMemorySpanExporter();
const processor = new SimpleSpanProcessor(exporter);

describe('telemetry', () => {
  beforeAll(() => {
    startTelemetry({
      serviceName: 'telemetry-test',
      instrumentations: false,
      spanProcessors: [processor],
    });
  });

  it('propagates a span through NATS headers (producer → consumer)', async () => {
    const tracer = getTracer('test');
    const h = headers();
    let producerTraceId = '';
    await tracer.startActiveSpan('publish tg.evt', async (span) => {
      producerTraceId = span.spanContext().traceId;
      injectTraceHeaders(h);
      span.end();
    });
    expect(h.get('traceparent')).toMatch(new RegExp(`^00-${producerTraceId}-[0-9a-f]{16}-01$`));

    const parent = extractTraceContext(h);
    const consumerSpan = tracer.startSpan('process tg.evt', {}, parent);
    consumerSpan.end();
    expect(consumerSpan.spanContext().traceId).toBe(producerTraceId);
    await processor.forceFlush(); // export waits for async resource attributes
    const names = exporter.getFinishedSpans().map((s) => s.name);
    expect(names).toEqual(['publish tg.evt', 'process tg.evt']);
  });

  it('extract without headers returns the given context', () => {
    expect(extractTraceContext(undefined, context.active())).toBe(context.active());
    expect(trace.getSpanContext(extractTraceContext(headers()))).toBeUndefined();
    expect(propagation.fields()).toContain('traceparent');
  });

  it('request/reply: the responder span is a child of the requester span', async () => {
    exporter.reset();
    const h = headers();
    let handled = '';
    await traceRequest('tg.cmd', 'tg.cmd.s1.send_message', h, async (sent) => {
      // the responder sees only the headers, as over the wire
      await traceHandle('tg.cmd', 'tg.cmd.s1.send_message', sent, async () => {
        handled = trace.getActiveSpan()?.spanContext().spanId ?? '';
      });
    });
    await expect(
      traceRequest('tg.cmd', 'tg.cmd.s1.send_message', headers(), () =>
        Promise.reject(new Error('503')),
      ),
    ).rejects.toThrow('503');
    await processor.forceFlush();
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.name === 'process tg.cmd')!;
    const client = spans.find((s) => s.name === 'send tg.cmd')!;
    expect(server.spanContext().spanId).toBe(handled);
    expect(server.parentSpanContext?.spanId).toBe(client.spanContext().spanId);
    expect(server.spanContext().traceId).toBe(client.spanContext().traceId);
    expect(client.attributes['messaging.operation.name']).toBe('request');
    expect(spans.filter((s) => s.name === 'send tg.cmd').map((s) => s.status.code)).toEqual([0, 2]);
  });

  it('a MongoDB statement shows the command shape: values scrubbed, bulk arrays cut to one', () => {
    const docs = Array.from({ length: 500 }, (_, i) => ({ _id: `d${i}`, body: 'secret text' }));
    const text = mongoStatement({ insert: 'deliveries', documents: docs, ordered: false });
    expect(JSON.parse(text)).toEqual({
      insert: '?',
      documents: [{ _id: '?', body: '?' }, { more: 499 }],
      ordered: '?',
    });
    expect(text).not.toContain('secret');
    expect(mongoStatement({ find: 'q', filter: { lane: 'x', attempts: { $lt: 3 } } })).toBe(
      '{"find":"?","filter":{"lane":"?","attempts":{"$lt":"?"}}}',
    );
  });
});
