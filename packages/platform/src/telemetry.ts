/**
 * OpenTelemetry tracing for every service.
 *
 * `startTelemetry()` starts the NodeSDK with: W3C trace-context + baggage
 * propagation; instrumentations for http (server and client), undici
 * (fetch), gRPC, MongoDB, pino and fastify (`@fastify/otel`, registered
 * through fastify's diagnostics channel, so no plugin wiring is needed);
 * OTLP/HTTP export of spans when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
 * Without an endpoint spans are still created (real trace ids in logs and
 * `traceparent` headers) but not exported. OTel metrics and logs export
 * are off: metrics are prom-client (metrics.ts), logs are pino on stdout.
 *
 * ESM note: instrumentations patch CommonJS modules through
 * require-in-the-middle when they are first loaded. fastify, @grpc/grpc-js,
 * mongodb, pino are CommonJS, and undici/fastify use diagnostics channels,
 * so it is enough that the SDK starts before those are loaded: make
 * `import '@tgbridge/platform/telemetry-register'` the FIRST import of each
 * `main.ts` (ESM evaluates imports in order). ESM-only libraries would need
 * `node --import @opentelemetry/instrumentation/hook.mjs`; none of ours does.
 * Manual spans (`tracer.startActiveSpan`) and the NATS header helpers below
 * work regardless.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { core, NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { FastifyOtelInstrumentation } from '@fastify/otel';

/** Options of {@link startTelemetry}. */
export interface TelemetryOptions {
  /** `service.name` resource attribute. */
  serviceName: string;
  /** `service.version` (default `npm_package_version` or `0.0.0`). */
  serviceVersion?: string;
  /**
   * OTLP/HTTP base endpoint (`http://collector:4318`); `/v1/traces` is
   * appended. Default: `OTEL_EXPORTER_OTLP_ENDPOINT`. Unset → no export.
   */
  otlpEndpoint?: string;
  /** Replaces the exporting processors (tests: an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
  /** Turn auto-instrumentations off (default on). */
  instrumentations?: boolean;
  /**
   * Instrumentations to leave out, by name (see {@link InstrumentationName}).
   * Default: `OTEL_NODE_DISABLED_INSTRUMENTATIONS` (comma-separated), the
   * variable OpenTelemetry JS's auto-instrumentations read.
   */
  disabledInstrumentations?: string;
}

type SdkInstrumentation = NonNullable<
  NonNullable<ConstructorParameters<typeof NodeSDK>[0]>['instrumentations']
>[number];

/** Names of the auto-instrumentations, for `OTEL_NODE_DISABLED_INSTRUMENTATIONS`. */
export type InstrumentationName = 'http' | 'undici' | 'grpc' | 'mongodb' | 'pino' | 'fastify';

/** A started SDK. */
export interface Telemetry {
  /** True when spans are exported over OTLP. */
  readonly exporting: boolean;
  /** Flushes pending spans and stops the SDK. Never throws. */
  shutdown(): Promise<void>;
}

/** Records spans (so ids are real and propagate) without exporting them. */
class DiscardingSpanProcessor implements SpanProcessor {
  onStart(): void {}
  onEnd(): void {}
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

let started: Telemetry | undefined;

/**
 * `db.query.text` of a MongoDB command: its shape with every value replaced
 * by `?` (as the instrumentation's default does) and arrays cut to their
 * first element plus a count, so a bulk insert of 500 documents costs as
 * much as one.
 */
export function mongoStatement(command: Record<string, unknown>): string {
  const seen = new WeakSet<object>();
  const counts = new WeakSet<object>();
  return JSON.stringify(command, function (this: unknown, _key, value: unknown) {
    if (typeof this === 'object' && this !== null && counts.has(this)) return value;
    if (typeof value !== 'object' || value === null) return '?';
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    if (Array.isArray(value) && value.length > 1) {
      const more = { more: value.length - 1 };
      counts.add(more);
      return [value[0], more];
    }
    return value;
  });
}

/**
 * Starts OpenTelemetry once per process (later calls return the first
 * instance).
 */
export function startTelemetry(opts: TelemetryOptions): Telemetry {
  if (started) return started;
  const endpoint = opts.otlpEndpoint ?? (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined);
  const spanProcessors =
    opts.spanProcessors ??
    (endpoint
      ? [
          new BatchSpanProcessor(
            new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }),
          ),
        ]
      : [new DiscardingSpanProcessor()]);
  const disabled = new Set(
    (opts.disabledInstrumentations ?? process.env.OTEL_NODE_DISABLED_INSTRUMENTATIONS ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
  );
  const available: Record<InstrumentationName, () => SdkInstrumentation> = {
    // untraced() code (a webhook attempt records its own span) skips it wholly:
    // a suppressed span alone still costs the patched request its bookkeeping
    http: () =>
      new HttpInstrumentation({
        ignoreOutgoingRequestHook: () => core.isTracingSuppressed(context.active()),
      }),
    undici: () =>
      new UndiciInstrumentation({
        ignoreRequestHook: () => core.isTracingSuppressed(context.active()),
      }),
    grpc: () => new GrpcInstrumentation(),
    mongodb: () => new MongoDBInstrumentation({ dbStatementSerializer: mongoStatement }),
    // logging.ts adds trace ids itself (works without module patching).
    pino: () => new PinoInstrumentation({ disableLogCorrelation: true, disableLogSending: true }),
    fastify: () => new FastifyOtelInstrumentation({ registerOnInitialization: true }),
  };
  const instrumentations =
    opts.instrumentations === false
      ? []
      : Object.entries(available)
          .filter(([name]) => !disabled.has(name))
          .map(([, make]) => make());
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: opts.serviceName,
      [ATTR_SERVICE_VERSION]: opts.serviceVersion ?? process.env.npm_package_version ?? '0.0.0',
    }),
    serviceName: opts.serviceName,
    spanProcessors,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations,
    textMapPropagator: new core.CompositePropagator({
      propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    }),
  });
  sdk.start();
  let stopping: Promise<void> | undefined;
  started = {
    exporting: opts.spanProcessors === undefined && endpoint !== undefined,
    shutdown: () => {
      stopping ??= sdk.shutdown().catch(() => {});
      return stopping;
    },
  };
  return started;
}

/** The tracer of a component (`trace.getTracer(name)`). */
export function getTracer(name = 'tgbridge'): Tracer {
  return trace.getTracer(name);
}

/** The part of NATS `MsgHdrs` used for propagation. */
export interface HeaderCarrier {
  get(k: string): string;
  set(k: string, v: string): void;
  keys(): string[];
}

const natsGetter: TextMapGetter<HeaderCarrier> = {
  keys: (carrier) => carrier.keys(),
  get: (carrier, key) => {
    // NATS header lookup is case-sensitive by default; W3C keys are lower-case.
    const hit = carrier.keys().find((k) => k.toLowerCase() === key.toLowerCase());
    const value = hit === undefined ? '' : carrier.get(hit);
    return value === '' ? undefined : value;
  },
};

const natsSetter: TextMapSetter<HeaderCarrier> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/**
 * Writes the context's trace headers (`traceparent`, `tracestate`,
 * `baggage`) into NATS message headers (`headers()` from the NATS client).
 *
 * @param ctx default: the active context
 * @returns the same headers object
 */
export function injectTraceHeaders<H extends HeaderCarrier>(
  headers: H,
  ctx: Context = context.active(),
): H {
  propagation.inject(ctx, headers, natsSetter);
  return headers;
}

/**
 * Reads trace headers of a received NATS message into a context; run the
 * handler inside it: `context.with(extractTraceContext(msg.headers), fn)`,
 * or pass it as the parent of a consumer span. Missing headers → the
 * context given (default active).
 */
export function extractTraceContext(
  headers: HeaderCarrier | undefined,
  ctx: Context = context.active(),
): Context {
  return headers ? propagation.extract(ctx, headers, natsGetter) : ctx;
}

/**
 * Runs `publish` inside a PRODUCER span for one NATS message (OpenTelemetry
 * messaging semantic conventions: span name `send <destination template>`,
 * `messaging.system=nats`, `messaging.destination.name`, `messaging.message.id`)
 * and injects that span's trace context into `headers` first, so consumers
 * continue the trace. `template` is the low-cardinality subject shape
 * (e.g. `tg.evt`), `subject` the concrete one.
 * Rethrows what `publish` throws, after marking the span as failed.
 */
export async function tracePublish<H extends HeaderCarrier, T>(
  template: string,
  subject: string,
  messageId: string | undefined,
  headers: H,
  publish: (headers: H) => Promise<T>,
): Promise<T> {
  return getTracer('tgbridge.nats').startActiveSpan(
    `send ${template}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': subject,
        ...(messageId ? { 'messaging.message.id': messageId } : {}),
      },
    },
    (span) =>
      endingSpan(span, () => {
        injectTraceHeaders(headers);
        return publish(headers);
      }),
  );
}

/**
 * Runs a NATS request/reply call inside a CLIENT span (`send <template>`,
 * `messaging.system=nats`, `messaging.operation.name=request`) and injects
 * its trace context into `headers`, so the responder's span (see
 * {@link traceHandle}) joins the caller's trace.
 * Rethrows what `request` throws (no responders, timeout), after marking the
 * span as failed.
 */
export async function traceRequest<H extends HeaderCarrier, T>(
  template: string,
  subject: string,
  headers: H,
  request: (headers: H) => Promise<T>,
): Promise<T> {
  return getTracer('tgbridge.nats').startActiveSpan(
    `send ${template}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'request',
        'messaging.destination.name': subject,
      },
    },
    (span) =>
      endingSpan(span, () => {
        injectTraceHeaders(headers);
        return request(headers);
      }),
  );
}

/**
 * Runs the handler of a received NATS request inside a SERVER span
 * (`process <template>`, `messaging.system=nats`,
 * `messaging.operation.type=process`) whose parent is the trace context in
 * the request's headers (none → a new trace). Rethrows what `handle` throws.
 */
export async function traceHandle<T>(
  template: string,
  subject: string,
  headers: HeaderCarrier | undefined,
  handle: () => Promise<T>,
): Promise<T> {
  const parent = extractTraceContext(headers, ROOT_CONTEXT);
  return getTracer('tgbridge.nats').startActiveSpan(
    `process ${template}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.destination.name': subject,
      },
    },
    parent,
    (span) => endingSpan(span, handle),
  );
}

/** Runs `fn`, marks `span` failed if it throws (rethrowing), and ends it. */
async function endingSpan<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs `fn` with the auto-instrumentations' tracing suppressed (no http /
 * MongoDB client span, no header injection of their own): for code that
 * records its own span and sends its own `traceparent`, such as a webhook
 * attempt. Spans started explicitly with a parent context are unaffected.
 */
export function untraced<T>(fn: () => T): T {
  return context.with(core.suppressTracing(context.active()), fn);
}
