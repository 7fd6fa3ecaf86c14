/**
 * Checks of rendered Kubernetes objects that JSON schemas cannot express:
 * the hardening every tgbridge pod must have (non-root, read-only root
 * filesystem, no capabilities, RuntimeDefault seccomp, no service-account
 * token), probes and resources, and references between objects (Services,
 * HPAs, PDBs, ServiceMonitors and StatefulSets point at things that exist).
 */

/** A rendered object (only the fields read here are typed). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

interface Probe {
  httpGet?: { port: string | number; path?: string };
  grpc?: { port: number };
  tcpSocket?: { port: string | number };
  exec?: unknown;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
}

/** A pod template of a Deployment or StatefulSet. */
export interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: {
    serviceAccountName?: string;
    automountServiceAccountToken?: boolean;
    securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type?: string } };
    containers: Container[];
  };
}

const PART_OF = 'app.kubernetes.io/part-of';

function find(objects: K8sObject[], kind: string, name: string | undefined): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata?.name === name);
}

function matches(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
) {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function templates(objects: K8sObject[]): PodTemplate[] {
  return objects
    .map((o) => (o as { spec?: { template?: PodTemplate } }).spec?.template)
    .filter((t): t is PodTemplate => t !== undefined);
}

function probePort(probe: Probe): string | number | undefined {
  return probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
}

/** Hardening, probes and resources of one tgbridge pod template. */
function checkPod(label: string, template: PodTemplate, objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const spec = template.spec;
  if (spec.automountServiceAccountToken !== false)
    problems.push(`${label}: automountServiceAccountToken must be false`);
  const sa = find(objects, 'ServiceAccount', spec.serviceAccountName);
  if (!sa)
    problems.push(
      `${label}: ServiceAccount ${spec.serviceAccountName ?? '(none)'} is not in the render`,
    );
  else if (sa.automountServiceAccountToken !== false)
    problems.push(`${label}: its ServiceAccount mounts a token`);
  if (spec.securityContext?.runAsNonRoot !== true)
    problems.push(`${label}: runAsNonRoot must be true`);
  if (spec.securityContext?.seccompProfile?.type !== 'RuntimeDefault')
    problems.push(`${label}: seccompProfile must be RuntimeDefault`);
  for (const c of spec.containers) {
    const where = `${label} container ${c.name}`;
    const sc = c.securityContext;
    if (sc?.allowPrivilegeEscalation !== false)
      problems.push(`${where}: allowPrivilegeEscalation must be false`);
    if (sc?.readOnlyRootFilesystem !== true)
      problems.push(`${where}: readOnlyRootFilesystem must be true`);
    if (!sc?.capabilities?.drop?.includes('ALL'))
      problems.push(`${where}: capabilities must drop ALL`);
    if (!c.livenessProbe || !c.readinessProbe)
      problems.push(`${where}: needs liveness and readiness probes`);
    if (!c.resources?.requests?.cpu || !c.resources.requests.memory)
      problems.push(`${where}: needs cpu and memory requests`);
    if (!c.resources?.limits?.memory) problems.push(`${where}: needs a memory limit`);
    const names = new Set((c.ports ?? []).map((p) => p.name));
    const numbers = new Set((c.ports ?? []).map((p) => p.containerPort));
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      const port = probe && probePort(probe);
      if (port !== undefined && !(typeof port === 'string' ? names.has(port) : numbers.has(port))) {
        problems.push(`${where}: probe port ${port} is not a container port`);
      }
    }
  }
  return problems;
}

/**
 * Problems of one object within its render (`objects`).
 * @returns one line per problem
 */
export function checkWorkload(obj: K8sObject, objects: K8sObject[]): string[] {
  const label = `${obj.kind}/${obj.metadata?.name}`;
  const spec = (obj as { spec?: Record<string, unknown> }).spec ?? {};
  const problems: string[] = [];
  if (
    (obj.kind === 'Deployment' || obj.kind === 'StatefulSet') &&
    obj.metadata?.labels?.[PART_OF] === 'tgbridge'
  ) {
    problems.push(...checkPod(label, spec.template as PodTemplate, objects));
  }
  if (obj.kind === 'StatefulSet') {
    const svc = find(objects, 'Service', spec.serviceName as string);
    if (!svc)
      problems.push(
        `${label}: serviceName ${String(spec.serviceName)} is not a Service in the render`,
      );
  }
  if (obj.kind === 'Service') {
    const selector = spec.selector as Record<string, string> | undefined;
    const pods = templates(objects).filter((t) => matches(selector, t.metadata?.labels));
    if (pods.length === 0) problems.push(`${label}: selector matches no pod template`);
    for (const port of (spec.ports as { name?: string; targetPort?: string | number }[]) ?? []) {
      if (typeof port.targetPort !== 'string') continue;
      const ok = pods.some((t) =>
        t.spec.containers.some((c) => c.ports?.some((p) => p.name === port.targetPort)),
      );
      if (pods.length > 0 && !ok)
        problems.push(`${label}: targetPort ${port.targetPort} is not a named container port`);
    }
  }
  if (obj.kind === 'HorizontalPodAutoscaler') {
    const ref = spec.scaleTargetRef as { kind: string; name: string };
    if (!find(objects, ref.kind, ref.name))
      problems.push(`${label}: scale target ${ref.kind}/${ref.name} is not in the render`);
  }
  if (obj.kind === 'PodDisruptionBudget') {
    const selector = (spec.selector as { matchLabels?: Record<string, string> })?.matchLabels;
    if (!templates(objects).some((t) => matches(selector, t.metadata?.labels)))
      problems.push(`${label}: selector matches no pod template`);
  }
  if (obj.kind === 'ServiceMonitor') {
    const selector = (spec.selector as { matchLabels?: Record<string, string> })?.matchLabels;
    const services = objects.filter(
      (o) => o.kind === 'Service' && matches(selector, o.metadata?.labels),
    );
    if (services.length === 0) problems.push(`${label}: selector matches no Service`);
    for (const ep of (spec.endpoints as { port?: string }[]) ?? []) {
      for (const svc of services) {
        const ports = ((svc as { spec?: { ports?: { name?: string }[] } }).spec?.ports ?? []).map(
          (p) => p.name,
        );
        if (!ports.includes(ep.port))
          problems.push(`${label}: Service/${svc.metadata?.name} has no port ${ep.port}`);
      }
    }
  }
  return problems;
}
