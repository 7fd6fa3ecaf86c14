/**
 * Reads the services' environment schemas (`services/<name>/src/config.ts`,
 * zod objects built on `@tgbridge/platform/config`) so deployment files can
 * be checked against them: which keys exist, which are required, and whether
 * a given value parses.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** One field of a zod object schema (only what is used here). */
interface ZodField {
  safeParse(value: unknown): { success: boolean; error?: { issues: { message: string }[] } };
}

/** A service's environment schema. */
export interface EnvSchema {
  service: string;
  /** Repository-relative path of the config module. */
  file: string;
  fields: Record<string, ZodField>;
}

function isZodObject(value: unknown): value is { shape: Record<string, ZodField> } {
  return (
    typeof value === 'object' &&
    value !== null &&
    'shape' in value &&
    typeof (value as { safeParse?: unknown }).safeParse === 'function'
  );
}

/**
 * Loads the schema exported by `services/<service>/src/config.ts` (the first
 * exported zod object).
 * @throws Error when the file is missing or exports no zod object
 */
export async function loadEnvSchema(root: string, service: string): Promise<EnvSchema> {
  const file = join('services', service, 'src/config.ts');
  if (!existsSync(join(root, file))) throw new Error(`${file} does not exist`);
  const mod = (await import(pathToFileURL(join(root, file)).href)) as Record<string, unknown>;
  const schema = Object.values(mod).find(isZodObject);
  if (!schema) throw new Error(`${file} exports no zod object schema`);
  return { service, file, fields: schema.shape };
}

/** Keys that must be set: their field rejects `undefined`. */
export function requiredKeys(schema: EnvSchema): string[] {
  return Object.entries(schema.fields)
    .filter(([, field]) => !field.safeParse(undefined).success)
    .map(([key]) => key);
}

/**
 * Problems of one environment against a schema: unknown keys, and literal
 * values that do not parse. `values` maps a key to its literal value, or to
 * `undefined` when it comes from elsewhere (a Secret, the downward API).
 * Empty values count as unset, as in `loadConfig`.
 */
export function checkEnv(
  schema: EnvSchema,
  values: Record<string, string | undefined>,
  where: string,
): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const field = schema.fields[key];
    if (!field) {
      problems.push(`${where}: ${key} is not a variable of ${schema.file}`);
      continue;
    }
    if (value === undefined || value === '') continue;
    const parsed = field.safeParse(value);
    if (!parsed.success) {
      const message = parsed.error?.issues.map((i) => i.message).join('; ') ?? 'invalid';
      problems.push(`${where}: ${key}: ${message}`);
    }
  }
  return problems;
}
