import { context, propagation, trace } from '@opentelemetry/api';
import { headers } from '@nats-io/transport-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  extractTraceContext,
  getTracer,
  injectTraceHeaders,
  startTelemetry,
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
});
