import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfraError } from '../../helpers/errors.ts';
import { StageFailure, StageInfraError, Stages } from '../../helpers/stages.ts';
import { stageTimeline } from '../../helpers/stage-chart.ts';

/** A clock the test moves by hand. */
function clock() {
  let t = 1000;
  return { now: () => t, tick: (ms: number) => (t += ms) };
}

test('stages run in order, timed, with their logs', async () => {
  const c = clock();
  const s = new Stages(['a', 'b', 'c'], c.now);
  c.tick(500);
  assert.equal(
    await s.run('a', async (log) => {
      log('hello');
      c.tick(2000);
      return 7;
    }),
    7,
  );
  await s.run('b', async () => void c.tick(1500));
  await s.run('c', async () => void c.tick(250));
  assert.equal(s.seconds('a'), 2);
  assert.equal(s.seconds('b'), 1.5);
  assert.equal(s.between('a', 'c'), 1.75);
  assert.deepEqual(s.records[0]!.log, ['hello']);
  assert.equal(s.failed(), undefined);
  assert.match(s.table(), /\| a \| PASSED \| 0\.5 \| 2\.0 \|/);
});

test('a failed stage names itself and the stages it stopped; those cannot run', async () => {
  const c = clock();
  const s = new Stages(['train', 'sync', 'deploy'], c.now);
  await s.run('train', async () => void c.tick(100));
  const err = await s
    .run('sync', async () => {
      c.tick(3000);
      throw new Error('sha256 mismatch');
    })
    .catch((e: unknown) => e);
  assert.ok(err instanceof StageFailure);
  assert.equal(err.message, 'stage "sync" failed after 3.0 s: sha256 mismatch (not run: deploy)');
  assert.deepEqual(
    s.records.map((r) => r.status),
    ['passed', 'failed', 'not run'],
  );
  await assert.rejects(() => s.run('deploy', async () => 1), /stage "deploy" cannot run: stage "sync" is failed/);
  assert.match(s.table(), /\| sync \| FAILED \|.*sha256 mismatch \|/);
  assert.match(s.table(), /\| deploy \| NOT RUN \|/);
  const svg = stageTimeline('t <&>', s.records);
  assert.match(svg, /t &lt;&amp;&gt;/);
  assert.match(svg, /fill="#d62728"/, 'the failed stage is drawn red');
});

test('misuse is refused: unknown, repeated or out-of-order stages, duplicate names', async () => {
  const s = new Stages(['a', 'b']);
  await assert.rejects(() => s.run('x', async () => 1), /no stage "x"/);
  await assert.rejects(() => s.run('b', async () => 1), /stage "b" cannot run: stage "a" is pending/);
  await s.run('a', async () => 1);
  await assert.rejects(() => s.run('a', async () => 1), /already ran/);
  assert.throws(() => new Stages(['a', 'a']), /unique/);
  assert.throws(() => s.seconds('b'), /has not run/);
});

test('a stage that could not reach its system stays an infra error, naming the stage', async () => {
  const s = new Stages(['train', 'track']);
  const err = await s.run('train', async () => Promise.reject(new InfraError('MLflow at http://x could not be reached'))).catch((e: unknown) => e);
  assert.ok(err instanceof StageInfraError && err instanceof InfraError);
  assert.equal(err.message, 'INFRA: stage "train" failed after 0.0 s: MLflow at http://x could not be reached (not run: track)');
});

test('onEnd sees each stage as it ends, passed or failed (the pipeline command shows it as progress)', async () => {
  const s = new Stages(['a', 'b', 'c']);
  const seen: string[] = [];
  s.onEnd = (r) => seen.push(`${r.name} ${r.status}`);
  await s.run('a', async () => 1);
  await assert.rejects(s.run('b', async () => Promise.reject(new Error('boom'))));
  assert.deepEqual(seen, ['a passed', 'b failed']);
});
