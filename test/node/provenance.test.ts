import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonSafe, provenance, sha256Path, writeResultJson } from '../../src/node/provenance.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

test('jsonSafe turns NaN and infinities into null, typed arrays into arrays', () => {
  assert.deepEqual(jsonSafe({ a: NaN, b: [1, Infinity, -Infinity], c: new Float32Array([0.5, NaN]), d: undefined, e: 'x' }), {
    a: null, b: [1, null, null], c: [0.5, null], e: 'x',
  });
});

test('sha256Path hashes a file, and a folder as sorted "name sha" lines, skipping temporaries', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-prov-'));
  writeFileSync(join(dir, 'b.txt'), 'bee');
  writeFileSync(join(dir, 'a.txt'), 'ay');
  writeFileSync(join(dir, 'x.tmp-123'), 'ignored');
  mkdirSync(join(dir, 'sub'));
  assert.equal(await sha256Path(join(dir, 'a.txt')), sha('ay'));
  assert.equal(await sha256Path(dir), sha(`a.txt ${sha('ay')}\nb.txt ${sha('bee')}\n`));
});

test('provenance and writeResultJson: version, hashes, seed, settings; no NaN in the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-prov-'));
  const data = join(dir, 'data.txt');
  writeFileSync(data, 'hello');
  const p = await provenance({ command: 'test', schemaVersion: 3, lens: null, data: [data], seed: 7, settings: { k: 2 } });
  assert.match(p.version, /^\d+\.\d+\.\d+/);
  assert.equal(p.schema_version, 3);
  assert.deepEqual(p.data, [{ path: data, sha256: sha('hello') }]);
  assert.equal(p.seed, 7);
  assert.equal(p.lens, null);
  const out = join(dir, 'r.json');
  await writeResultJson(out, { provenance: p, rho: NaN });
  const text = readFileSync(out, 'utf8');
  assert.equal(JSON.parse(text).rho, null);
  assert.ok(!text.includes('NaN'));
});
