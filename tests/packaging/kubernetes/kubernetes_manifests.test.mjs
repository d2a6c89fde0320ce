// The Kubernetes files of tools/packaging: the plain YAML and the Helm chart rendered by the real
// helm validate against the Kubernetes schemas (kubernetes_schema.mjs), the chart renders the
// plain YAML's objects with ci/plain-values.yaml, and both keep their contract with hostd (probe
// routes, the in-flight metric, a grace period that covers preStop, drain and cleanup).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocuments, validateObject } from './kubernetes_schema.mjs';
import { helm } from './helm_binary.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const plainDir = join(root, 'tools', 'packaging', 'kubernetes');
const chartDir = join(root, 'tools', 'packaging', 'helm', 'modelhost');
const runHelm = helm();

function plainObjects() {
  return readdirSync(plainDir).filter((name) => name.endsWith('.yaml')).sort().flatMap(
      (name) => parseDocuments(readFileSync(join(plainDir, name), 'utf8'), name)
                    .map((object) => ({ object, where: `tools/packaging/kubernetes/${name}` })));
}

function render(...valueArgs) {
  const text = runHelm(['template', 'modelhost', chartDir, ...valueArgs]);
  return parseDocuments(text, 'helm template').map((object) => ({
    object, where: `helm template ${valueArgs.join(' ') || '(default values)'}`,
  }));
}

const byKind = (objects, kind) => objects.map(({ object }) => object).filter((o) => o.kind === kind);
const container = (deployment) => deployment.spec.template.spec.containers[0];
const argValue = (deployment, flag) => {
  const arg = container(deployment).args.find((a) => a.startsWith(`${flag}=`));
  return arg === undefined ? undefined : arg.slice(flag.length + 1);
};

// hostd gives cleanup this long after the drain before it exits anyway (host/daemon/daemon.cpp).
function hostdCleanupGraceSeconds() {
  const source = readFileSync(join(root, 'host', 'daemon', 'daemon.cpp'), 'utf8');
  const match = source.match(/kCleanupGrace = std::chrono::seconds\((\d+)\)/);
  assert.ok(match, 'host/daemon/daemon.cpp: kCleanupGrace not found; update this test');
  return Number(match[1]);
}

// The properties every Deployment here must have, whatever rendered it.
function checkDeploymentContract(deployment, configMap, where) {
  const spec = deployment.spec.template.spec;
  const hostd = container(deployment);
  assert.equal(deployment.spec.strategy.type, 'RollingUpdate', where);
  assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0,
               `${where}: a rollout must not take a ready pod away before its successor is ready`);
  const httpPort = hostd.ports.find((port) => port.name === 'http');
  assert.ok(httpPort, `${where}: a container port named http`);
  assert.equal(argValue(deployment, '--listen'), `0.0.0.0:${httpPort.containerPort}`, where);
  assert.deepEqual(hostd.readinessProbe.httpGet, { path: '/v2/health/ready', port: 'http' }, where);
  assert.deepEqual(hostd.livenessProbe.httpGet, { path: '/v2/health/live', port: 'http' }, where);
  // Grace: preStop (still serving) + drain + hostd's cleanup grace must fit before SIGKILL.
  const [sleep, seconds] = hostd.lifecycle.preStop.exec.command;
  assert.equal(sleep, 'sleep', where);
  const drainMs = Number(argValue(deployment, '--drain-timeout-ms'));
  assert.ok(drainMs > 0, `${where}: --drain-timeout-ms is set`);
  const longest = Math.max(...Object.values(configMap.data).map((t) => JSON.parse(t).timeout_ms ?? 0));
  assert.ok(drainMs >= longest, `${where}: --drain-timeout-ms ${drainMs} covers the longest ` +
                                `timeout_ms of the models (${longest}), so a drain cuts none short`);
  const needed = Number(seconds) + Math.ceil(drainMs / 1000) + hostdCleanupGraceSeconds();
  assert.ok(spec.terminationGracePeriodSeconds > needed,
            `${where}: terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} must ` +
            `exceed preStop ${seconds} s + drain ${drainMs} ms + cleanup grace = ${needed} s`);
  // Every model of the ConfigMap is mounted as <name>/model.json, the --models-dir layout.
  const models = spec.volumes.find((volume) => volume.name === 'models').configMap.items;
  for (const item of models) {
    const name = item.key.replace(/\.json$/, '');
    assert.match(name, /^[A-Za-z0-9][A-Za-z0-9._-]*$/, `${where}: model name ${name}`);
    assert.equal(item.path, `${name}/model.json`, where);
  }
  const mounts = Object.fromEntries(hostd.volumeMounts.map((m) => [m.name, m.mountPath]));
  assert.equal(argValue(deployment, '--models-dir'), mounts.models, where);
  assert.equal(argValue(deployment, '--cache-dir'), mounts.cache, where);
  assert.ok(spec.volumes.find((volume) => volume.name === 'cache').emptyDir,
            `${where}: the cache is per pod`);
  const socket = hostd.env.find((e) => e.name === 'MODELHOST_ADMIN_SOCKET').value;
  assert.equal(dirname(socket), mounts['admin-socket'], `${where}: hostctl finds the socket`);
}

// A ConfigMap folder holds no .so, so each manifest must name its plugin (found in the image).
function checkConfigMapManifests(configMap, where) {
  for (const [key, text] of Object.entries(configMap.data)) {
    assert.match(key, /\.json$/, where);
    const manifest = JSON.parse(text);
    assert.equal(typeof manifest.plugin, 'string', `${where}: ${key} names its plugin`);
  }
}

test('the plain YAML validates against the Kubernetes schemas', async () => {
  const objects = plainObjects();
  assert.deepEqual(objects.map(({ object }) => object.kind).sort(),
                   ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget',
                    'Service']);
  for (const { object, where } of objects) await validateObject(object, where);
  checkDeploymentContract(byKind(objects, 'Deployment')[0], byKind(objects, 'ConfigMap')[0],
                          'tools/packaging/kubernetes');
  checkConfigMapManifests(byKind(objects, 'ConfigMap')[0], 'tools/packaging/kubernetes');
});

test('a misspelt field fails the validation (the check is not vacuous)', async () => {
  const deployment = structuredClone(byKind(plainObjects(), 'Deployment')[0]);
  container(deployment).readinesProbe = container(deployment).readinessProbe;
  await assert.rejects(validateObject(deployment, 'typo'), /containers\[0\]\.readinesProbe/);
  const badType = structuredClone(byKind(plainObjects(), 'Deployment')[0]);
  badType.spec.template.spec.terminationGracePeriodSeconds = 'sixty';
  await assert.rejects(validateObject(badType, 'type'), /terminationGracePeriodSeconds/);
});

test('helm lint --strict accepts the chart', () => {
  runHelm(['lint', '--strict', chartDir]);
  runHelm(['lint', '--strict', chartDir, '-f', join(chartDir, 'ci', 'plain-values.yaml')]);
});

const variants = [
  [],
  ['-f', join(chartDir, 'ci', 'plain-values.yaml')],
  ['--set', 'autoscaling.enabled=false,podDisruptionBudget.enabled=false,replicaCount=3'],
  ['--set', 'gpu.count=2,storage=,s3.secretName=,drainTimeoutMs=150500'],
  ['--set', 'extraArgs[0]=--log-level=debug', '--set', 'tolerations[0].key=dedicated',
   '--set', 'tolerations[0].operator=Exists', '--set', 'gpu.count=1'],
];

for (const values of variants) {
  test(`the rendered chart validates: ${values.join(' ') || 'default values'}`, async () => {
    const objects = render(...values);
    for (const { object, where } of objects) await validateObject(object, where);
    for (const deployment of byKind(objects, 'Deployment')) {
      checkDeploymentContract(deployment, byKind(objects, 'ConfigMap')[0], objects[0].where);
    }
    checkConfigMapManifests(byKind(objects, 'ConfigMap')[0], objects[0].where);
  });
}

test('the chart\'s values reach the objects', () => {
  const plain = render();
  const deployment = byKind(plain, 'Deployment')[0];
  assert.equal(JSON.stringify(deployment).includes('nvidia.com/gpu'), false, 'no GPU by default');
  assert.equal(deployment.spec.replicas, undefined, 'the HPA owns the count');
  assert.equal(byKind(plain, 'HorizontalPodAutoscaler').length, 1);

  const fixed = render('--set', 'autoscaling.enabled=false,replicaCount=3');
  assert.equal(byKind(fixed, 'Deployment')[0].spec.replicas, 3);
  assert.equal(byKind(fixed, 'HorizontalPodAutoscaler').length, 0);

  const gpu = byKind(render('--set', 'gpu.count=2,drainTimeoutMs=150500'), 'Deployment')[0];
  assert.equal(container(gpu).resources.limits['nvidia.com/gpu'], 2);
  assert.equal(container(gpu).resources.limits.memory, '16Gi', 'other limits stay');
  assert.deepEqual(gpu.spec.template.spec.tolerations,
                   [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
  // 10 (preStop) + ceil(150.5) + 20 (cleanup grace) + 5 (margin)
  assert.equal(gpu.spec.template.spec.terminationGracePeriodSeconds, 186);

  const [before, after] = [render(), render('--set', 'models.echo.max_concurrency=8')].map(
      (objects) => byKind(objects, 'Deployment')[0].spec.template.metadata.annotations);
  assert.notEqual(before['checksum/models'], after['checksum/models'],
                  'a change of the models rolls the pods');
});

// Helm's own bookkeeping, which the plain YAML does not carry.
function withoutHelmBookkeeping(object) {
  const copy = structuredClone(object);
  for (const key of ['helm.sh/chart', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/version']) {
    delete copy.metadata.labels?.[key];
  }
  const annotations = copy.spec?.template?.metadata?.annotations;
  if (annotations) delete annotations['checksum/models'];
  if (copy.kind === 'ConfigMap') {  // the same manifests, whatever the JSON's layout
    for (const key of Object.keys(copy.data)) copy.data[key] = JSON.parse(copy.data[key]);
  }
  return copy;
}

test('the chart with ci/plain-values.yaml renders the plain YAML\'s objects', () => {
  const key = (object) => `${object.kind}/${object.metadata.name}`;
  const rendered = new Map(render('-f', join(chartDir, 'ci', 'plain-values.yaml'))
                               .map(({ object }) => [key(object), withoutHelmBookkeeping(object)]));
  const plain = new Map(plainObjects().map(({ object }) => [key(object),
                                                            withoutHelmBookkeeping(object)]));
  assert.deepEqual([...rendered.keys()].sort(), [...plain.keys()].sort());
  for (const [name, object] of plain) assert.deepEqual(rendered.get(name), object, name);
});

test('the probes, the scrape path and the HPA metric are hostd\'s own', () => {
  const metrics = readFileSync(join(root, 'host', 'metrics', 'metrics.cpp'), 'utf8');
  assert.match(metrics, /"modelhost_requests_in_flight", "gauge"/,
               'host/metrics exports the gauge the HPA scales on');
  const hpa = byKind(plainObjects(), 'HorizontalPodAutoscaler')[0];
  assert.equal(hpa.spec.metrics[0].pods.metric.name, 'modelhost_requests_in_flight');
  const adapter = readFileSync(join(plainDir, 'prometheus-adapter', 'values.yaml'), 'utf8');
  assert.match(adapter, /as: "modelhost_requests_in_flight"/);
  const deployment = byKind(plainObjects(), 'Deployment')[0];
  assert.equal(deployment.spec.template.metadata.annotations['prometheus.io/path'], '/metrics');

  const hostd = process.env.MODELHOST_HOSTD;
  const routes = hostd ? execFileSync(hostd, ['--print-routes'], { encoding: 'utf8' })
                       : readFileSync(join(root, 'host', 'http', 'http_routes.cpp'), 'utf8');
  for (const path of ['/v2/health/live', '/v2/health/ready', '/metrics']) {
    assert.ok(routes.includes(path), `hostd serves ${path}`);
  }
});
