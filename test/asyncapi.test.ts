/**
 * docs/asyncapi.yaml: no drift from proto/ (scripts/gen-asyncapi.ts), valid
 * per the official AsyncAPI parser, complete (every event type and command),
 * examples canonical and schema-valid, and the generated schemas accept what
 * the protobuf runtimes (@bufbuild/protobuf and ts-proto) actually emit.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Parser } from '@asyncapi/parser';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import {
  create,
  toJson,
  ScalarType,
  type DescField,
  type DescMessage,
  type FileRegistry,
  type Message,
} from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import * as common from '@tgbridge/proto/common/v1/common';
import * as connector from '@tgbridge/proto/connector/v1/connector';
import * as events from '@tgbridge/proto/events/v1/events';
import { Command, EventType } from '@tgbridge/proto/subjects';
import {
  ASYNCAPI_PATH,
  generateSchemas,
  loadRegistry,
  renderAsyncApi,
  type JsonSchema,
} from '../scripts/gen-asyncapi.js';

type Obj = Record<string, unknown>;
type Codec = { fromJSON(o: unknown): unknown; toJSON(m: unknown): unknown };

const text = readFileSync(ASYNCAPI_PATH, 'utf8');
const doc = parse(text) as Obj & {
  channels: Record<string, Obj & { address: string | null; messages: Record<string, Obj> }>;
  operations: Record<string, Obj>;
  components: Obj & {
    schemas: Record<string, JsonSchema>;
    messages: Record<string, Obj>;
    messageTraits: Record<string, Obj>;
    parameters: Record<string, Obj>;
  };
};
const ROOT_ID = 'asyncapi.json';

/** Strict ajv that knows the AsyncAPI document's schemas by `#/components/schemas/<name>`. */
function makeAjv(): Ajv {
  const ajv = new Ajv({ strict: true, strictRequired: false, allErrors: true });
  ajv.addVocabulary(['components', 'x-proto-message', 'x-proto-oneof']);
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (s: string) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(s) &&
      !Number.isNaN(Date.parse(s)),
  });
  ajv.addSchema({ $id: ROOT_ID, components: { schemas: doc.components.schemas } });
  return ajv;
}

/** ts-proto codec of a proto message by full name (tgbridge.<pkg>.v1.<Name>). */
function codec(typeName: string): Codec {
  const [, pkg, , name] = typeName.split('.');
  const mod = { common, connector, events }[pkg as 'common' | 'connector' | 'events'] as Record<
    string,
    unknown
  >;
  const c = mod?.[name!] as Codec | undefined;
  if (!c) throw new Error(`no ts-proto codec for ${typeName}`);
  return c;
}

const refName = (ref: unknown): string => String(ref).replace('#/components/schemas/', '');
const camel = (s: string) => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
const pascal = (s: string) => camel(s).replace(/^./, (c) => c.toUpperCase());

/** The message's headers schema with its traits applied (JSON merge patch, message wins). */
function headersOf(m: Obj): JsonSchema {
  const traits = (m.traits as Array<{ $ref: string }> | undefined) ?? [];
  let h: JsonSchema = {};
  for (const t of traits) {
    const trait = doc.components.messageTraits[t.$ref.split('/').pop()!]!;
    h = { ...h, ...(trait.headers as JsonSchema) };
  }
  const own = m.headers as JsonSchema | undefined;
  if (!own) return h;
  return {
    ...h,
    ...own,
    properties: { ...(h.properties as Obj), ...(own.properties as Obj) },
  };
}

describe('docs/asyncapi.yaml', () => {
  it('components.schemas match proto/ (regenerate with npx tsx scripts/gen-asyncapi.ts)', async () => {
    expect(await renderAsyncApi(text)).toBe(text);
  });

  it('is a valid AsyncAPI 3 document per @asyncapi/parser', async () => {
    const parser = new Parser();
    const { document, diagnostics } = await parser.parse(text);
    // severity 0 = error, 1 = warning; 2/3 (info/hint) only suggest AsyncAPI 3.1
    const problems = diagnostics.filter((d) => d.severity <= 1);
    expect(problems.map((d) => `${d.code} ${d.message} at ${d.path.join('.')}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    expect(document?.channels().get('events')?.address()).toBe(
      'tg.evt.{tenant}.{agent}.{session}.{type}',
    );
    // the parser is not a no-op: a dangling reference is an error
    const broken = text.replace('schemas/NewMessageEvent', 'schemas/NoSuchEvent');
    expect(broken).not.toBe(text);
    const bad = await new Parser().parse(broken);
    expect(bad.diagnostics.some((d) => d.severity === 0)).toBe(true);
  });

  it('has one message per event type, on the events channel and operation', () => {
    const types = Object.values(EventType).sort();
    const channel = doc.channels.events!;
    expect(Object.keys(channel.messages).sort()).toEqual(types.map(camel).sort());
    expect(doc.components.parameters.type!.examples).toEqual(Object.values(EventType));
    const published = (doc.operations.publishEvents!.messages as Array<{ $ref: string }>).map((r) =>
      r.$ref.split('/').pop(),
    );
    expect(published.sort()).toEqual(types.map(camel).sort());
    for (const t of types) {
      const m = doc.components.messages[camel(t)]!;
      expect(m.name).toBe(t);
      expect(refName((m.payload as Obj).$ref)).toBe(`${pascal(t)}Event`);
      expect(doc.components.schemas[`${pascal(t)}Event`]).toBeDefined();
    }
  });

  it('has a request/reply channel and operation per command', () => {
    for (const c of Object.values(Command)) {
      const channel = doc.channels[camel(c)]!;
      expect(channel.address).toBe(`tg.cmd.{session}.${c}`);
      const op = doc.operations[camel(c)]!;
      expect(op.action).toBe('receive');
      const reply = op.reply as { messages: Array<{ $ref: string }> };
      expect(reply.messages.map((r) => r.$ref.split('/').pop())).toEqual([
        `${camel(c)}Response`,
        'commandError',
      ]);
      const req = doc.components.messages[`${camel(c)}Request`]!;
      expect(refName((req.payload as Obj).$ref)).toBe(`tgbridge.connector.v1.${pascal(c)}Request`);
    }
  });

  describe('examples', () => {
    let ajv: Ajv;
    beforeAll(() => {
      ajv = makeAjv();
    });

    const messages = Object.entries(doc.components.messages);
    it.each(messages.filter(([, m]) => m.examples).map(([id]) => id))(
      '%s: examples are canonical JSON, schema-valid, with matching headers',
      (id) => {
        const m = doc.components.messages[id]!;
        const schemaName = refName((m.payload as Obj).$ref);
        const validate = ajv.getSchema(`${ROOT_ID}#/components/schemas/${schemaName}`)!;
        const validateHeaders = ajv.compile(headersOf(m));
        const proto = schemaName.startsWith('tgbridge.') ? schemaName : 'tgbridge.events.v1.Event';
        const c = codec(proto);
        for (const ex of m.examples as Array<{ payload: Obj; headers?: Obj }>) {
          expect(validate(ex.payload), JSON.stringify(validate.errors)).toBe(true);
          expect(validateHeaders(ex.headers ?? {}), JSON.stringify(validateHeaders.errors)).toBe(
            true,
          );
          // exactly what the producers' toJSON() writes
          expect(c.toJSON(c.fromJSON(ex.payload))).toEqual(ex.payload);
          if (proto === 'tgbridge.events.v1.Event') {
            expect(ex.headers?.['Nats-Msg-Id']).toBe(ex.payload.eventId);
            expect(ex.payload.type).toBe(m.name);
          }
        }
      },
    );
    it('every event message has an example', () => {
      for (const t of Object.values(EventType)) {
        expect(doc.components.messages[camel(t)]!.examples, t).toBeDefined();
      }
    });
  });
});

/** A value for every field kind, recursively (message depth-limited). */
function filled(desc: DescMessage, variant: number, depth = 0): Message {
  const init: Obj = {};
  const scalar = (t: ScalarType): unknown =>
    ({
      [ScalarType.STRING]: 'text ✓',
      [ScalarType.BOOL]: true,
      [ScalarType.BYTES]: new Uint8Array([0, 1, 254, 255]),
      [ScalarType.DOUBLE]: 1.5,
      [ScalarType.FLOAT]: 2.5,
      [ScalarType.INT32]: -7,
      [ScalarType.SINT32]: -7,
      [ScalarType.SFIXED32]: -7,
      [ScalarType.UINT32]: 7,
      [ScalarType.FIXED32]: 7,
      // beyond 2^53: only exact as a string
      [ScalarType.INT64]: -9007199254740993n,
      [ScalarType.SINT64]: -9007199254740993n,
      [ScalarType.SFIXED64]: -9007199254740993n,
      [ScalarType.UINT64]: 9007199254740993n,
      [ScalarType.FIXED64]: 9007199254740993n,
    })[t];
  const value = (f: DescField, kind: string): unknown => {
    const x = f as unknown as {
      scalar: ScalarType;
      enum: { values: { number: number }[] };
      message: DescMessage;
    };
    if (kind === 'scalar') return scalar(x.scalar);
    if (kind === 'enum') return x.enum.values.at(-1)!.number;
    if (x.message.typeName === 'google.protobuf.Timestamp') return timestampFromMs(1766226600250);
    return depth < 4 ? filled(x.message, variant, depth + 1) : create(x.message);
  };
  for (const f of desc.fields) {
    if (f.oneof && !f.proto.proto3Optional) continue;
    if (f.fieldKind === 'list') init[f.localName] = [value(f, f.listKind), value(f, f.listKind)];
    else if (f.fieldKind === 'map') init[f.localName] = { k: value(f, f.mapKind) };
    else init[f.localName] = value(f, f.fieldKind);
  }
  for (const o of desc.oneofs.filter((o) => !o.fields.every((f) => f.proto.proto3Optional))) {
    const f = o.fields[variant % (o.fields.length + 1)];
    if (f) init[o.localName] = { case: f.localName, value: value(f, f.fieldKind) };
  }
  return create(desc, init as never);
}

describe('generated schemas accept what the protobuf runtimes emit', () => {
  let registry: FileRegistry;
  let ajv: Ajv;
  const schemaOf = (name: string): ValidateFunction =>
    ajv.getSchema(`${ROOT_ID}#/components/schemas/${name}`)!;
  beforeAll(() => {
    registry = loadRegistry();
    ajv = makeAjv();
  });

  it('every proto schema: fully populated messages, each oneof variant, via both runtimes', () => {
    const names = Object.keys(generateSchemas(registry)).filter(
      (n) => n.startsWith('tgbridge.') && registry.getMessage(n),
    );
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) {
      const desc = registry.getMessage(name)!;
      const validate = schemaOf(name);
      for (let variant = 0; variant < 6; variant++) {
        const json = toJson(desc, filled(desc, variant)) as Obj;
        expect(validate(json), `${name} #${variant}: ${JSON.stringify(validate.errors)}`).toBe(
          true,
        );
        const c = codec(name);
        const viaTsProto = c.toJSON(c.fromJSON(json));
        expect(validate(viaTsProto), `${name} ts-proto: ${JSON.stringify(validate.errors)}`).toBe(
          true,
        );
      }
    }
  });

  it('rejects non-canonical or contradictory events', () => {
    const base = events.Event.toJSON(
      events.Event.fromPartial({
        eventId: 'e1',
        type: 'session_connected',
        tenantId: 't',
        agentId: 'a',
        sessionId: 's',
        occurredAt: new Date('2025-12-20T10:30:00Z'),
        sequence: '3',
        payload: { $case: 'session', value: { status: common.SessionStatus.CONNECTED } },
      }),
    ) as Obj;
    const event = schemaOf('SessionConnectedEvent');
    expect(event(base), JSON.stringify(event.errors)).toBe(true);
    expect(event({ ...base, sequence: 3 })).toBe(false); // uint64 is a string
    expect(event({ ...base, occurredAt: 1766226600 })).toBe(false);
    expect(event({ ...base, session: { status: 4 } })).toBe(false); // enums by name
    expect(event({ ...base, type: 'new_message' })).toBe(false);
    expect(event({ ...base, read: { maxId: 1 } })).toBe(false); // two oneof members
    const { eventId: _e, ...noId } = base;
    expect(event(noId)).toBe(false);
    // unknown fields are allowed: consumers must ignore additions
    expect(event({ ...base, futureField: 1 })).toBe(true);
  });
});
