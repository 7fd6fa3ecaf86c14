/**
 * Offline checks of the kustomize overlays (deploy/k8s/overlays/*): each is
 * rendered with the pinned kustomize, then every object is validated
 * against the Kubernetes OpenAPI schemas shipped by the `kubernetes-models`
 * npm package (and the Prometheus Operator CRDs by
 * `@kubernetes-models/prometheus-operator`), and checked for what the
 * schemas cannot see: hardening, probes, resources, references between
 * objects, and container environments against the services' config schemas.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments, parse } from 'yaml';
import { checkEnv, loadEnvSchema, requiredKeys, type EnvSchema } from './config-schemas.js';
import { FLEET } from './compose.js';
import { kustomizeBuild } from './kustomize.js';
import { checkWorkload, type K8sObject, type PodTemplate } from './k8s-policy.js';

/** Keys of the Secret `tgbridge-secrets`; each must be documented in docs/operations.md. */
export const SECRET_KEYS = [
  'SESSION_ENCRYPTION_KEYS',
  'SESSION_ENCRYPTION_ACTIVE_KEY_ID',
  'API_SECRET_KEY',
  'WEBHOOK_SECRET_TOKEN',
  'WEBHOOK_SIGNING_SECRET',
  'TELEGRAM_API_ID',
  'TELEGRAM_API_HASH',
  'NATS_URL',
  'MONGO_URL',
];
export const SECRET_NAME = 'tgbridge-secrets';

/** Overlay directories under deploy/k8s/overlays. */
export function listOverlays(root: string): string[] {
  return readdirSync(join(root, 'deploy/k8s/overlays'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** Renders an overlay and parses its documents. @throws Error when kustomize fails */
export function renderOverlay(root: string, overlay: string): K8sObject[] {
  const text = kustomizeBuild(join(root, 'deploy/k8s/overlays', overlay));
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

type Validatable = new (data: unknown) => { validate(): void };

/** Schema problems of one object (kubernetes-models' JSON-schema validators). */
export async function validateObject(obj: K8sObject): Promise<string[]> {
  const label = `${obj.kind}/${obj.metadata?.name ?? '?'}`;
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0]! : '';
  const module =
    group === 'monitoring.coreos.com'
      ? `@kubernetes-models/prometheus-operator/${obj.apiVersion}`
      : `kubernetes-models/${obj.apiVersion}`;
  let Model: Validatable | undefined;
  try {
    Model = ((await import(module)) as Record<string, Validatable>)[obj.kind];
  } catch {
    Model = undefined;
  }
  if (!Model) return [`${label}: no schema for ${obj.apiVersion} ${obj.kind} (not validated)`];
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    return [`${label}: ${(err as Error).message}`];
  }
}

function configMapData(objects: K8sObject[], name: string): Record<string, string> | undefined {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === name);
  return cm ? ((cm as { data?: Record<string, string> }).data ?? {}) : undefined;
}

/** Environment of a container as key → literal value (undefined: from a Secret or the downward API). */
function containerEnv(
  objects: K8sObject[],
  container: PodTemplate['spec']['containers'][number],
  where: string,
  problems: string[],
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const data = configMapData(objects, from.configMapRef.name);
      if (!data)
        problems.push(`${where}: ConfigMap ${from.configMapRef.name} is not in the render`);
      Object.assign(env, data ?? {});
    }
    if (from.secretRef)
      problems.push(`${where}: envFrom a Secret exposes every key; use secretKeyRef per key`);
  }
  for (const e of container.env ?? []) {
    const secret = e.valueFrom?.secretKeyRef;
    if (secret) {
      if (secret.name !== SECRET_NAME)
        problems.push(`${where}: ${e.name} reads Secret ${secret.name}, not ${SECRET_NAME}`);
      if (!SECRET_KEYS.includes(secret.key))
        problems.push(`${where}: ${e.name} reads undocumented secret key ${secret.key}`);
      // An optional key may be absent: then the variable is not set at all.
      if (secret.optional) {
        if (!(e.name in env)) env[e.name] = '';
        continue;
      }
    }
    const cmKey = e.valueFrom?.configMapKeyRef;
    if (cmKey && !configMapData(objects, cmKey.name)) {
      problems.push(`${where}: ConfigMap ${cmKey.name} is not in the render`);
    }
    env[e.name] = e.valueFrom ? undefined : (e.value ?? '');
  }
  return env;
}

/** Env problems of the fleet's containers in one render. */
async function checkEnvironments(
  root: string,
  objects: K8sObject[],
  overlay: string,
): Promise<string[]> {
  const problems: string[] = [];
  const schemas = new Map<string, EnvSchema | Error>();
  for (const obj of objects) {
    const template = (obj as { spec?: { template?: PodTemplate } }).spec?.template;
    if (!template) continue;
    for (const container of template.spec.containers) {
      if (!(FLEET as readonly string[]).includes(container.name)) continue;
      const where = `overlay ${overlay} ${obj.kind}/${obj.metadata?.name} container ${container.name}`;
      if (!schemas.has(container.name)) {
        schemas.set(
          container.name,
          await loadEnvSchema(root, container.name).catch((e: Error) => e),
        );
      }
      const schema = schemas.get(container.name)!;
      if (schema instanceof Error) {
        problems.push(`${where}: ${schema.message}`);
        continue;
      }
      const env = containerEnv(objects, container, where, problems);
      problems.push(...checkEnv(schema, env, where));
      for (const key of requiredKeys(schema)) {
        if (!(key in env) || env[key] === '') problems.push(`${where}: required ${key} is not set`);
      }
    }
  }
  return problems;
}

/**
 * Renders and checks every overlay, and checks that the PrometheusRule
 * matches deploy/prometheus/rules/tgbridge.yml and that docs/operations.md
 * documents every secret key.
 * @returns one line per problem
 */
export async function checkKubernetes(root: string): Promise<string[]> {
  const problems: string[] = [];
  for (const overlay of listOverlays(root)) {
    let objects: K8sObject[];
    try {
      objects = renderOverlay(root, overlay);
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    for (const obj of objects) {
      for (const p of await validateObject(obj)) problems.push(`overlay ${overlay}: ${p}`);
      for (const p of checkWorkload(obj, objects)) problems.push(`overlay ${overlay}: ${p}`);
    }
    problems.push(...(await checkEnvironments(root, objects, overlay)));
  }

  const rules = parse(readFileSync(join(root, 'deploy/prometheus/rules/tgbridge.yml'), 'utf8')) as {
    groups: unknown;
  };
  const crd = parse(
    readFileSync(join(root, 'deploy/k8s/components/service-monitor/prometheusrule.yaml'), 'utf8'),
  ) as { spec: { groups: unknown } };
  if (!isDeepStrictEqual(rules.groups, crd.spec.groups)) {
    problems.push(
      'deploy/k8s/components/service-monitor/prometheusrule.yaml: groups differ from deploy/prometheus/rules/tgbridge.yml',
    );
  }
  const docs = join(root, 'docs/operations.md');
  const operations = existsSync(docs) ? readFileSync(docs, 'utf8') : '';
  for (const key of SECRET_KEYS) {
    if (!operations.includes(`\`${key}\``))
      problems.push(`docs/operations.md: secret key ${key} is not documented`);
  }
  return problems;
}
