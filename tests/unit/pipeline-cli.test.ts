/** npx mlv-pipeline's pure parts: its arguments, the kept deployment's record, which version a rollback goes to. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommand, parseRecord, previousVersion, rollbackTarget, servedNow, type DeploymentRecord } from '../../helpers/pipeline-cli.ts';

const record = (history: string[], versions = ['1', '2']): DeploymentRecord => ({
  name: 'mnist-release@mlv-1',
  runId: 'mlv-1',
  task: 'MLOPS-5.2',
  keptAt: '2026-12-02T00:00:00.000Z',
  namespace: 'mlv-1-w2',
  service: 'mnist-release',
  served: { modelName: 'mnist', protocol: 'v2', runtime: 'kserve-tritonserver', protocols: ['v2'] },
  modelName: 'mlv-mlv-1-mnist-release',
  alias: 'mlv-serving',
  versions: versions.map((version) => ({ version, storageUri: `s3://b/p/v${version}`, sha256: 'ab'.repeat(32) })),
  history,
});

test('commands and their options', () => {
  assert.deepEqual(parseCommand(['run']), { cmd: 'run', release: false, keep: false });
  assert.deepEqual(parseCommand(['run', '--release', '--keep']), { cmd: 'run', release: true, keep: true });
  assert.deepEqual(parseCommand(['rollback']), { cmd: 'rollback', to: undefined });
  assert.deepEqual(parseCommand(['rollback', '--to', '1']), { cmd: 'rollback', to: '1' });
  assert.deepEqual(parseCommand(['rollback', '--to=12']), { cmd: 'rollback', to: '12' });
  assert.deepEqual(parseCommand(['status']), { cmd: 'status', runId: undefined });
  assert.deepEqual(parseCommand(['status', 'mlv-1']), { cmd: 'status', runId: 'mlv-1' });
  assert.deepEqual(parseCommand(['down']), { cmd: 'down' });
});

test('bad arguments: one message naming the flag and the fix', () => {
  const error = (argv: string[]) => {
    const c = parseCommand(argv);
    assert.ok('error' in c, `${argv.join(' ')} parsed as ${JSON.stringify(c)}`);
    return c.error;
  };
  assert.equal(error([]), 'no command given');
  assert.equal(error(['deploy']), 'unknown command: deploy');
  assert.equal(error(['toString']), 'unknown command: toString');
  assert.match(error(['run', '--kept']), /^mlv-pipeline run: Unknown option '--kept'\. Fix: it takes --release, --keep$/);
  assert.match(error(['rollback', '--to']), /^mlv-pipeline rollback: Option '--to <value>' argument missing\. Fix: it takes --to <version>$/);
  assert.equal(error(['rollback', '--to', 'v1']), '--to "v1": not a version number. Fix: name a registered version, e.g. --to 1');
  assert.equal(error(['rollback', '--to', '0']), '--to "0": not a version number. Fix: name a registered version, e.g. --to 1');
  assert.match(error(['rollback', '1']), /Unexpected argument '1'.*Fix: it takes --to <version>/);
  assert.match(error(['down', '--force']), /^mlv-pipeline down: Unknown option '--force'\. Fix: it takes no option$/);
  assert.match(error(['status', 'a', 'b']), /takes one run id at most, not 2/);
});

test('the default rollback goes to the version that served before the one serving now', () => {
  assert.deepEqual(rollbackTarget(record(['1', '2'])), { from: '2', to: '1' });
  // MLOPS-5.2 ends on its own rollback: 1 serves, 2 served before it
  assert.deepEqual(rollbackTarget(record(['1', '2', '1'])), { from: '1', to: '2' });
  assert.deepEqual(rollbackTarget(record(['1', '2', '3', '3'], ['1', '2', '3'])), { from: '3', to: '2' });
  assert.equal(previousVersion(record(['1'])), undefined);
});

test('--to names a version of the deployment other than the one serving', () => {
  assert.deepEqual(rollbackTarget(record(['1', '2']), '1'), { from: '2', to: '1' });
  assert.deepEqual(rollbackTarget(record(['1', '2', '3'], ['1', '2', '3']), '1'), { from: '3', to: '1' });
  assert.deepEqual(rollbackTarget(record(['1', '2']), '7'), { error: '--to 7: deployment mnist-release@mlv-1 has no version 7 (versions: 1, 2). Fix: --to one of them' });
  assert.deepEqual(rollbackTarget(record(['1', '2']), '2'), { error: '--to 2: version 2 serves already. Fix: --to 1' });
});

test('nothing to roll back to: one version, or only one ever served', () => {
  assert.deepEqual(rollbackTarget(record(['1'], ['1'])), {
    error: 'nothing to roll back to: deployment mnist-release@mlv-1 has one version (1). Fix: keep one with two, mlv-pipeline down then mlv-pipeline run --release --keep',
  });
  assert.deepEqual(rollbackTarget(record(['1'])), { error: 'deployment mnist-release@mlv-1 has served version 1 only. Fix: name the version with --to (2)' });
  assert.deepEqual(rollbackTarget(record(['1']), '2'), { from: '1', to: '2' });
});

test('a rollout that took is appended to what served; the same version again is not', () => {
  assert.deepEqual(servedNow(record(['1', '2', '1']), '2').history, ['1', '2', '1', '2']);
  assert.deepEqual(servedNow(record(['1', '2']), '2').history, ['1', '2']);
});

test('the record: read back whole, or refused naming the file, the field and the fix', () => {
  const d = record(['1', '2']);
  assert.deepEqual(parseRecord(JSON.stringify(d), 'deployment.json'), d);
  assert.match(
    (parseRecord('{', 'deployment.json') as { error: string }).error,
    /^deployment\.json is not JSON \(.*\)\. Fix: mlv-pipeline down removes the deployment the ledgers keep, and the record$/,
  );
  const noHistory = parseRecord(JSON.stringify({ ...d, history: [] }), 'deployment.json') as { error: string };
  assert.match(noHistory.error, /^deployment\.json: history: Too small.*Fix: mlv-pipeline down/);
  const badVersion = parseRecord(JSON.stringify({ ...d, versions: [{ version: 1 }] }), 'deployment.json') as { error: string };
  assert.match(badVersion.error, /^deployment\.json: versions\.0\.version: Invalid input: expected string, received number\. Fix/);
});
