// The container file of tools/packaging/container without a container engine (build.sh builds
// it where one can run): its build stage installs what tools/install_dependencies.sh installs
// for a build, its runtime stage no -dev package and runs as the non-root user the Kubernetes
// files expect, the HEALTHCHECK probes a route hostd has, the paths match the install layout and
// the Kubernetes files, and runtime-packages.sh maps binaries to the right Debian packages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocuments } from './kubernetes_schema.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const containerDir = join(root, 'tools', 'packaging', 'container');
const containerfile = readFileSync(join(containerDir, 'Containerfile'), 'utf8');

// Instructions with their continuation lines joined and comments dropped, split by stage.
function stages() {
  const lines = containerfile.replace(/\\\n/g, ' ').split('\n')
                    .map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  const result = [];
  for (const line of lines) {
    const [, instruction, rest] = line.match(/^(\w+)\s+(.*)$/);
    if (instruction === 'FROM') result.push({ from: rest, instructions: [] });
    else if (result.length) result.at(-1).instructions.push({ instruction, rest });
  }
  return result;
}

function stage(name) {
  const found = stages().find((s) => s.from.endsWith(` AS ${name}`));
  assert.ok(found, `Containerfile: a stage named ${name}`);
  return found;
}

const runText = (s) => s.instructions.filter((i) => i.instruction === 'RUN').map((i) => i.rest)
                           .join('\n');
const last = (s, instruction) => s.instructions.filter((i) => i.instruction === instruction).at(-1);

// What install_dependencies.sh installs for the tests, the sanitizer and format checks and the
// packaging checks (CPack and its checks: dpkg-dev, file, lintian, systemd), not for a build: the
// image's build stage leaves these out.
const notForTheImage = new Set(['clang-format', 'clang-14', 'libclang-rt-14-dev', 'doctest-dev',
                                'git', 'curl', 'nodejs', 'npm', 'lintian', 'dpkg-dev', 'fakeroot',
                                'file', 'systemd', 'podman', 'buildah', 'debootstrap']);

test('the build stage installs the build packages of tools/install_dependencies.sh', () => {
  const script = readFileSync(join(root, 'tools', 'install_dependencies.sh'), 'utf8');
  const list = script.match(/^packages=\(([\s\S]*?)^\)/m);
  assert.ok(list, 'tools/install_dependencies.sh: the packages=( ... ) list');
  const wanted = list[1].replace(/#.*$/gm, '').split(/\s+/).filter(Boolean)
                     .filter((name) => !notForTheImage.has(name));
  assert.ok(wanted.includes('cmake') && wanted.includes('libtorch-dev'), 'the list was read');
  const build = runText(stage('build'));
  for (const name of wanted) {
    assert.match(build, new RegExp(`(^|\\s)${name.replace(/[.+]/g, '\\$&')}(\\s|;|$)`),
                 `Containerfile build stage: install ${name} (tools/install_dependencies.sh does)`);
  }
  assert.match(build, /-DMODELHOST_BUILD_TESTS=OFF/);
  assert.match(build, /cmake --install \/build --prefix \/opt\/modelhost/);
});

test('the runtime stage: runtime libraries only, a non-root user, tini, the health probe', () => {
  const runtime = stage('runtime');
  assert.match(runtime.from, /^\$\{RUNTIME_BASE\} AS runtime$/);
  assert.doesNotMatch(runText(runtime), /-dev\b/, 'no -dev package at run time');
  assert.match(runText(runtime), /xargs -a \/tmp\/runtime-packages\.txt apt-get install/);
  const user = last(runtime, 'USER').rest;
  assert.match(user, /^[1-9]\d*:[1-9]\d*$/, 'a numeric non-root USER (runAsNonRoot can check it)');
  const entrypoint = JSON.parse(last(runtime, 'ENTRYPOINT').rest);
  assert.deepEqual(entrypoint, ['/usr/bin/tini', '--', '/opt/modelhost/bin/hostd']);
  const cmd = JSON.parse(last(runtime, 'CMD').rest);
  const port = cmd.find((a) => a.startsWith('--listen=')).split(':').at(-1);
  assert.equal(last(runtime, 'EXPOSE').rest, port);
  const health = last(runtime, 'HEALTHCHECK').rest;
  assert.match(health, new RegExp(`http://127\\.0\\.0\\.1:${port}/v2/health/live`));
  const routes = readFileSync(join(root, 'host', 'http', 'http_routes.cpp'), 'utf8');
  assert.ok(routes.includes('"/v2/health/live"'), 'hostd serves /v2/health/live');
  // The plugins folder is the install layout's (CMakeLists.txt: <libdir>/modelhost/plugins).
  const layout = readFileSync(join(root, 'CMakeLists.txt'), 'utf8');
  assert.match(layout, /MODELHOST_INSTALL_PLUGIN_DIR "\$\{CMAKE_INSTALL_LIBDIR\}\/modelhost\/plugins"/);
  assert.ok(cmd.includes('--plugin-dir=/opt/modelhost/lib/modelhost/plugins'));
});

test('the Kubernetes Deployment runs the image as the image expects', () => {
  const runtime = stage('runtime');
  const [uid, gid] = last(runtime, 'USER').rest.split(':').map(Number);
  const env = last(runtime, 'ENV').rest;
  const socket = env.match(/MODELHOST_ADMIN_SOCKET=(\S+)/)[1];
  const cmd = JSON.parse(last(runtime, 'CMD').rest);
  const deployment = parseDocuments(
      readFileSync(join(root, 'tools', 'packaging', 'kubernetes', 'deployment.yaml'), 'utf8'),
      'deployment.yaml')[0];
  const pod = deployment.spec.template.spec;
  assert.equal(pod.securityContext.runAsUser, uid);
  assert.equal(pod.securityContext.runAsGroup, gid);
  const hostd = pod.containers[0];
  assert.equal(hostd.env.find((e) => e.name === 'MODELHOST_ADMIN_SOCKET').value, socket);
  for (const flag of ['--cache-dir', '--plugin-dir']) {
    const inImage = cmd.find((a) => a.startsWith(`${flag}=`));
    assert.ok(hostd.args.includes(inImage), `the Deployment passes ${inImage} as the image does`);
  }
  assert.equal(String(hostd.ports[0].containerPort), last(runtime, 'EXPOSE').rest);
});

test('runtime-packages.sh names the Debian packages of the libraries a binary links', () => {
  const tree = mkdtempSync(join(tmpdir(), 'modelhost-runtime-packages-'));
  try {
    mkdirSync(join(tree, 'bin'));
    const probe = process.env.MODELHOST_HOSTD || '/usr/bin/curl';
    copyFileSync(probe, join(tree, 'bin', 'probe'));
    copyFileSync(join(containerDir, 'runtime-packages.sh'), join(tree, 'not-an-elf.sh'));
    const packages = execFileSync(join(containerDir, 'runtime-packages.sh'), [tree],
                                  { encoding: 'utf8' }).trim().split('\n');
    assert.ok(packages.includes('libc6'), `libc6 among ${packages.join(' ')}`);
    assert.ok(packages.includes('libcurl4'), `libcurl4 among ${packages.join(' ')}`);
    assert.ok(packages.every((name) => !name.endsWith('-dev')), packages.join(' '));
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
});
