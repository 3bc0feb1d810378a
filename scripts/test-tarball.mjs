#!/usr/bin/env node
// CI check that the published package installs and runs somewhere else (issue 7, item 10): `npm pack`, install the
// tarball offline (from the npm cache that `npm ci` filled) into an empty temporary project, then run
// `npx tuned-lens --version` and the README's first command there. The repository's .npmrc does not travel with
// the package, so the install passes `--onnxruntime-node-install=skip` itself, exactly as the README tells users to.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(new URL('..', import.meta.url).pathname);
const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;
const work = mkdtempSync(join(tmpdir(), 'tl-tarball-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

try {
  // `npm pack` runs the prepare script (tsc + viewer bundle), so the tarball holds dist/.
  const tgz = join(work, run('npm', ['pack', '--silent', '--pack-destination', work], repo).trim().split('\n').pop());
  const app = join(work, 'app');
  run('mkdir', ['-p', app], work);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'tarball-check', version: '1.0.0', private: true }));
  // --offline: dependencies come from the npm cache only (CI runs `npm ci` first, which fills it); set
  // TARBALL_NPM_NETWORK=--prefer-offline on a machine whose cache is cold.
  run('npm', ['install', tgz, process.env.TARBALL_NPM_NETWORK ?? '--offline', '--no-audit', '--no-fund', '--onnxruntime-node-install=skip'], app);
  // The skip must have reached onnxruntime-node's install script: no CUDA provider was downloaded.
  const cuda = run('find', [join(app, 'node_modules', 'onnxruntime-node'), '-name', '*providers_cuda*'], app).trim();
  if (cuda) throw new Error(`onnxruntime-node downloaded CUDA files despite --onnxruntime-node-install=skip:\n${cuda}`);

  const printed = run('npx', ['--offline', 'tuned-lens', '--version'], app).trim();
  if (printed !== version) throw new Error(`npx tuned-lens --version printed "${printed}", expected ${version}`);

  // The README's first command. The default model (stories260K) is not inside the package yet, and this check must
  // not need the network, so it is pointed at the shared copy; drop --model once the package embeds the model.
  const shared = process.env.TUNED_LENS_SHARED ? resolve(process.env.TUNED_LENS_SHARED) : resolve(repo, '..', 'shared');
  const table = run('npx', ['--offline', 'tuned-lens', 'lens', 'Once upon a time, there was a little girl named Lily.', '--model', join(shared, 'models', 'stories260K'), '--width', '400'], app);
  const output = table.split('\n').find((l) => l.startsWith('output '));
  if (!output || !/_She 0\.\d\d\s*$/.test(output)) throw new Error(`the README's lens command printed an unexpected table:\n${table}`);
  console.log(`tarball ${tgz.split('/').pop()}: installs offline, --version ${printed}, the README's lens command works`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
