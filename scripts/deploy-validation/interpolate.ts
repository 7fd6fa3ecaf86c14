/**
 * Compose-style variable interpolation and `.env` parsing, enough for
 * tgbridge's docker-compose.yml: `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}` and `$$` (a literal
 * dollar), applied to every string of a parsed document.
 */

/** A variable required with `:?` / `?` that is missing. */
export interface MissingVariable {
  name: string;
  message: string;
}

const PATTERN =
  /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Interpolates one string.
 * @param env the variables (an empty string counts as unset for the `:` forms)
 * @param missing receives every required variable that is unset
 */
export function interpolateString(
  text: string,
  env: Record<string, string | undefined>,
  missing: MissingVariable[] = [],
): string {
  return text.replace(
    PATTERN,
    (match, braced?: string, op?: string, arg?: string, bare?: string) => {
      if (match === '$$') return '$';
      const name = braced ?? bare!;
      const value = env[name];
      const unset = op?.startsWith(':') ? value === undefined || value === '' : value === undefined;
      if (op === ':-' || op === '-') return unset ? (arg ?? '') : value!;
      if (op === ':?' || op === '?') {
        if (unset) missing.push({ name, message: arg ?? '' });
        return value ?? '';
      }
      return value ?? '';
    },
  );
}

/** Interpolates every string (not keys) of a JSON-like value; returns a copy. */
export function interpolate<T>(
  value: T,
  env: Record<string, string | undefined>,
  missing: MissingVariable[] = [],
): T {
  if (typeof value === 'string') return interpolateString(value, env, missing) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => interpolate(v, env, missing)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, missing)]),
    ) as T;
  }
  return value;
}

/**
 * Parses a `.env` file: `KEY=value` lines, `#` comments, optional
 * `export `, single or double quotes around the value.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2]!;
    else value = value.replace(/\s+#.*$/, '');
    env[m[1]!] = value;
  }
  return env;
}
