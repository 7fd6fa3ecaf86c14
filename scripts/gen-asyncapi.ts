/**
 * Keeps `components.schemas` of docs/asyncapi.yaml in sync with proto/.
 *
 *   npx tsx scripts/gen-asyncapi.ts          rewrite docs/asyncapi.yaml
 *   npx tsx scripts/gen-asyncapi.ts --check  exit 1 when the file is stale
 *
 * The protos are compiled with buf (`buf build`, binary FileDescriptorSet with
 * source info) and read with @bufbuild/protobuf. Every message reachable from
 * `tgbridge.events.v1.Event` and from the `ConnectorService` request/response
 * pairs (plus `CommandError`) becomes a JSON Schema of its canonical proto3
 * JSON form: lowerCamelCase keys, 64-bit integers as decimal strings,
 * `google.protobuf.Timestamp` as an RFC 3339 string, enums by value name,
 * bytes as base64, each oneof member as its own optional property (at most one
 * present). Comments of the .proto files become `description`s. Canonical JSON
 * omits default values, so no proto field is `required`; the per-type event
 * schemas (`NewMessageEvent`, ...) derived from the table in Event's comment
 * require the envelope fields producers always set and the type's payload.
 * Everything else in the YAML file is hand-written and left untouched.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createFileRegistry,
  fromBinary,
  ScalarType,
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage,
  type FileRegistry,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { format, resolveConfig } from 'prettier';
import { parseDocument } from 'yaml';

/** A JSON Schema object (draft-07 subset, as AsyncAPI Schema accepts it). */
export type JsonSchema = { [key: string]: unknown };

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The AsyncAPI document this script maintains. */
export const ASYNCAPI_PATH = join(ROOT, 'docs', 'asyncapi.yaml');

const EVENT = 'tgbridge.events.v1.Event';
const CONNECTOR_SERVICE = 'tgbridge.connector.v1.ConnectorService';
const COMMAND_ERROR = 'tgbridge.connector.v1.CommandError';
/**
 * Event fields every producer sets (proto names); required in the per-type
 * schemas. Not `sequence`: the notifier's operational events have none.
 */
const ENVELOPE_ALWAYS_SET = [
  'event_id',
  'type',
  'tenant_id',
  'agent_id',
  'session_id',
  'occurred_at',
];
const REF = '#/components/schemas/';

/** Compiles proto/ with buf into a registry. @throws when buf fails (e.g. a syntax error) */
export function loadRegistry(): FileRegistry {
  const bin = execFileSync(
    join(ROOT, 'node_modules', '.bin', 'buf'),
    ['build', '-o', '-#format=binpb'],
    {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, new Uint8Array(bin)));
}

/** Source-info path of a message or enum: [4|5, i, (3|4, j)...]. */
function declPath(d: DescMessage | DescEnum): number[] {
  const own = d.kind === 'message' ? 3 : 4;
  if (d.parent) {
    const list = d.kind === 'message' ? d.parent.nestedMessages : d.parent.nestedEnums;
    return [...declPath(d.parent), own, list.indexOf(d as never)];
  }
  const list = d.kind === 'message' ? d.file.messages : d.file.enums;
  return [d.kind === 'message' ? 4 : 5, list.indexOf(d as never)];
}

/** Leading comment at `path` in `file`, trimmed; undefined when there is none. */
function comment(file: DescFile, path: number[]): string | undefined {
  const loc = file.proto.sourceCodeInfo?.location.find(
    (l) => l.path.length === path.length && l.path.every((v, i) => v === path[i]),
  );
  const text = loc?.leadingComments
    .split('\n')
    .map((l) => l.replace(/^ /, '').trimEnd())
    .join('\n')
    .trim();
  return text || undefined;
}

function withDescription(s: JsonSchema, description: string | undefined): JsonSchema {
  return description ? { description, ...s } : s;
}

const INT32_RANGE = { minimum: -2147483648, maximum: 2147483647 };
const UINT32_RANGE = { minimum: 0, maximum: 4294967295 };

/** Canonical proto3 JSON schema of a scalar. */
function scalarSchema(t: ScalarType): JsonSchema {
  switch (t) {
    case ScalarType.STRING:
      return { type: 'string' };
    case ScalarType.BOOL:
      return { type: 'boolean' };
    case ScalarType.BYTES:
      return { type: 'string', contentEncoding: 'base64' };
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return { type: 'number' };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: 'integer', ...INT32_RANGE };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: 'integer', ...UINT32_RANGE };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return {
        type: 'string',
        pattern: '^-?[0-9]+$',
        description: '64-bit integer as a decimal string.',
      };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return {
        type: 'string',
        pattern: '^[0-9]+$',
        description: 'Unsigned 64-bit integer as a decimal string.',
      };
  }
}

/** What the schemas generated so far refer to (filled while generating). */
interface Refs {
  messages: Set<DescMessage>;
  enums: Set<DescEnum>;
}

/** Schema of a message-typed value: a $ref, or inline for well-known types. */
function messageRef(m: DescMessage, refs: Refs): JsonSchema {
  if (m.typeName === 'google.protobuf.Timestamp') {
    return { type: 'string', format: 'date-time', description: 'RFC 3339 timestamp, UTC ("Z").' };
  }
  if (m.typeName.startsWith('google.protobuf.')) {
    throw new Error(`gen-asyncapi: no JSON mapping for well-known type ${m.typeName}`);
  }
  refs.messages.add(m);
  return { $ref: REF + m.typeName };
}

/** Value schema of one field, possibly with a description of its encoding. */
function fieldSchema(f: DescField, refs: Refs): JsonSchema {
  const one = (kind: 'scalar' | 'enum' | 'message'): JsonSchema => {
    const x = f as unknown as { scalar: ScalarType; enum: DescEnum; message: DescMessage };
    if (kind === 'scalar') return scalarSchema(x.scalar);
    if (kind === 'message') return messageRef(x.message, refs);
    refs.enums.add(x.enum);
    return { $ref: REF + x.enum.typeName };
  };
  switch (f.fieldKind) {
    case 'list':
      return { type: 'array', items: one(f.listKind) };
    case 'map':
      return { type: 'object', additionalProperties: one(f.mapKind) };
    default:
      return one(f.fieldKind);
  }
}

/** JSON Schema of an enum: its value names, documented one per line. */
export function enumSchema(e: DescEnum): JsonSchema {
  const path = declPath(e);
  const lines = e.values.map((v, i) => {
    const doc = comment(e.file, [...path, 2, i])?.replace(/\s*\n\s*/g, ' ');
    return `- \`${v.name}\`${doc ? `: ${doc}` : ''}`;
  });
  const head = comment(e.file, path);
  return {
    description: [head, lines.join('\n')].filter(Boolean).join('\n\n'),
    type: 'string',
    enum: e.values.map((v) => v.name),
  };
}

/** JSON Schema of a message; adds the messages and enums it refers to to `refs`. */
export function messageSchema(m: DescMessage, refs: Refs): JsonSchema {
  const path = declPath(m);
  const properties: Record<string, JsonSchema> = {};
  for (const f of m.fields) {
    const index = m.proto.field.findIndex((p) => p.number === f.number);
    const { description: encoding, ...value } = fieldSchema(f, refs);
    // draft-07 ignores siblings of $ref: wrap it so the field's comment shows
    const body = value.$ref ? { allOf: [value] } : value;
    const description = [comment(m.file, [...path, 2, index]), encoding].filter(Boolean).join(' ');
    properties[f.jsonName] = withDescription(body, description);
  }
  const schema: JsonSchema = withDescription(
    { type: 'object', properties, 'x-proto-message': m.typeName },
    comment(m.file, path),
  );
  const oneofs = m.oneofs.filter((o) => !o.fields.every((f) => f.proto.proto3Optional));
  if (oneofs.length > 0) {
    // each real oneof: exactly one member present, or none
    schema.allOf = oneofs.map((o) => {
      const has = () => o.fields.map((f) => ({ required: [f.jsonName] }));
      return { oneOf: [...has(), { not: { anyOf: has() } }], 'x-proto-oneof': o.name };
    });
  }
  return schema;
}

/** Rows `a, b -> field (note)` of the table in Event's comment; notes may wrap. */
function typeTable(text: string): Array<{ types: string[]; field: string; note: string }> {
  const rows: Array<{ types: string[]; field: string; note: string }> = [];
  for (const line of text.split('\n')) {
    const row = /^\s*([a-z_]+(?:,\s*[a-z_]+)*)\s*->\s*([a-z_]+)\s*(.*)$/.exec(line);
    if (row) rows.push({ types: row[1]!.split(/,\s*/), field: row[2]!, note: row[3]! });
    else if (rows.length > 0 && /^\s{8,}\S/.test(line)) rows.at(-1)!.note += ` ${line.trim()}`;
    else if (rows.length > 0) break;
  }
  return rows.map((r) => ({ ...r, note: r.note.trim().replace(/^\((.*)\)$/s, '$1') }));
}

/** Per-type event schemas (`NewMessageEvent`, ...) from the table in Event's comment. */
export function eventTypeSchemas(event: DescMessage): Record<string, JsonSchema> {
  const byName = new Map(event.fields.map((f) => [f.name, f]));
  const required = ENVELOPE_ALWAYS_SET.map((n) => {
    const f = byName.get(n);
    if (!f) throw new Error(`gen-asyncapi: Event has no field ${n}`);
    return f.jsonName;
  });
  const out: Record<string, JsonSchema> = {};
  for (const row of typeTable(comment(event.file, declPath(event)) ?? '')) {
    const field = byName.get(row.field);
    if (!field?.oneof)
      throw new Error(`gen-asyncapi: Event table names unknown payload ${row.field}`);
    for (const type of row.types) {
      const name = `${type.replace(/(^|_)([a-z])/g, (_s, _u, c: string) => c.toUpperCase())}Event`;
      const note = row.note ? ` ${row.note.replace(/^./, (c) => c.toUpperCase())}.` : '';
      out[name] = {
        description: `Event of type \`${type}\`: payload in \`${field.jsonName}\`.${note}`,
        allOf: [
          { $ref: REF + EVENT },
          {
            type: 'object',
            required: [...required, field.jsonName],
            properties: { type: { const: type } },
          },
        ],
      };
    }
  }
  if (Object.keys(out).length === 0)
    throw new Error('gen-asyncapi: no type table in Event comment');
  return out;
}

/** `components.schemas`: per-type events, then messages and enums in discovery order. */
export function generateSchemas(
  registry: FileRegistry = loadRegistry(),
): Record<string, JsonSchema> {
  const event = registry.getMessage(EVENT);
  const service = registry.getService(CONNECTOR_SERVICE);
  const error = registry.getMessage(COMMAND_ERROR);
  if (!event || !service || !error)
    throw new Error('gen-asyncapi: contract roots missing in proto/');
  const refs: Refs = { messages: new Set([event]), enums: new Set() };
  for (const m of service.methods) refs.messages.add(m.input).add(m.output);
  refs.messages.add(error);
  const schemas: Record<string, JsonSchema> = { ...eventTypeSchemas(event) };
  // refs.messages grows while iterating; Set iteration visits added entries
  for (const m of refs.messages) schemas[m.typeName] = messageSchema(m, refs);
  const enums = [...refs.enums].sort((a, b) => a.typeName.localeCompare(b.typeName));
  for (const e of enums) schemas[e.typeName] = enumSchema(e);
  return schemas;
}

const SCHEMAS_COMMENT = ' Generated from proto/ by scripts/gen-asyncapi.ts: do not edit by hand.';

/**
 * `yamlText` with `components.schemas` replaced by `schemas`, formatted with
 * the repository's prettier config. @throws when `yamlText` is not valid YAML
 */
export async function renderAsyncApi(
  yamlText: string,
  schemas: Record<string, JsonSchema> = generateSchemas(),
): Promise<string> {
  const doc = parseDocument(yamlText);
  if (doc.errors.length > 0) throw doc.errors[0]!;
  const node = doc.createNode(schemas, { aliasDuplicateObjects: false });
  node.commentBefore = SCHEMAS_COMMENT;
  doc.setIn(['components', 'schemas'], node);
  const text = doc.toString({ lineWidth: 0 });
  const options = (await resolveConfig(ASYNCAPI_PATH)) ?? {};
  return format(text, { ...options, parser: 'yaml' });
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const current = readFileSync(ASYNCAPI_PATH, 'utf8');
  const next = await renderAsyncApi(current);
  if (next === current) return;
  if (check) {
    console.error('docs/asyncapi.yaml is stale: run npx tsx scripts/gen-asyncapi.ts');
    process.exit(1);
  }
  writeFileSync(ASYNCAPI_PATH, next);
  console.log('wrote docs/asyncapi.yaml');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
