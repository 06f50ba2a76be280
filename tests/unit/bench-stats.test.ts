/** The bench's arithmetic (helpers/bench-stats.ts) on output recorded from slurm-wlm 22.05 on the lab. */
import assert from 'node:assert/strict';
import test from 'node:test';
import { benchTable, criticalPath, parseBenchJobs, parseRpcStats, rpcDelta, summarise, targetChecks, type PhaseResult } from '../../helpers/bench-stats.ts';

const SDIAG = `*******************************************************
Remote Procedure Call statistics by message type
	REQUEST_PARTITION_INFO                  ( 2009) count:17     ave_time:313    total_time:626
	REQUEST_JOB_INFO_SINGLE                 ( 2021) count:14     ave_time:376    total_time:753
	REQUEST_SUBMIT_BATCH_JOB                ( 4003) count:4      ave_time:289    total_time:289

Remote Procedure Call statistics by user
	mlops           (    1001) count:35     ave_time:320    total_time:3530
	root            (       0) count:11     ave_time:320    total_time:3530

Pending RPC statistics
	No pending RPCs
`;
const DBD_BEFORE = `Remote Procedure Call statistics by message type
	DBD_GET_JOBS_COND        ( 1444) count:3      ave_time:2383   total_time:7150
	DBD_FINI                 ( 1401) count:14     ave_time:227    total_time:3179

Remote Procedure Call statistics by user
	root                (         0) count:40     ave_time:924    total_time:36975
	mlops               (      1001) count:9      ave_time:1221   total_time:10989
`;
const DBD_AFTER = DBD_BEFORE.replace('count:3 ', 'count:8 ').replace('count:9 ', 'count:21').replace('count:14', 'count:19');

test('sdiag and sacctmgr show stats: counts by message type and by user; the difference of two readings', () => {
  const s = parseRpcStats(SDIAG);
  assert.deepEqual(s.byUser, { mlops: 35, root: 11 });
  assert.equal(s.byType.REQUEST_JOB_INFO_SINGLE, 14);
  assert.equal(Object.keys(s.byType).length, 3, 'the pending section is not read as a message type');
  const d = rpcDelta(parseRpcStats(DBD_AFTER), parseRpcStats(DBD_BEFORE));
  assert.deepEqual(d.byUser, { mlops: 12 });
  assert.deepEqual(d.byType, { DBD_GET_JOBS_COND: 5, DBD_FINI: 5 });
});

const SACCT = `312|mlv-a-preflight-probe|COMPLETED|100|101|103|2
313|mlv-a-mlops-1.1-mnist|COMPLETED|104|104|120|16
314|mlv-b-preflight-probe|CANCELLED by 1001|104|105|106|1
315|mlv-a-mlops-2.1|COMPLETED|110|110|130|20
`;

test('jobs of a run from sacct (epoch times), and the critical path as the union of their intervals', () => {
  const jobs = parseBenchJobs(SACCT, 'mlv-a-');
  assert.deepEqual(
    jobs.map((j) => j.id),
    ['312', '313', '315'],
  );
  assert.equal(parseBenchJobs(SACCT, 'mlv-b-')[0]!.state, 'CANCELLED');
  // [101,103] + [104,130] (313 and 315 overlap) = 2 + 26
  assert.equal(criticalPath(jobs), 28);
  assert.equal(criticalPath([]), 0);
});

const phase = (over: Partial<PhaseResult> = {}): PhaseResult => ({
  way: 'suite',
  wallSeconds: 40,
  jobs: parseBenchJobs(SACCT, 'mlv-a-'),
  ctld: parseRpcStats(SDIAG),
  dbd: { byType: {}, byUser: { mlops: 12 } },
  sshConnections: 3,
  workers: 3,
  user: 'mlops',
  ...over,
});

test('summary: overhead per job, RPCs per job of the job user, and the targets met or missed', () => {
  const s = summarise(phase());
  assert.equal(s.sumElapsed, 38);
  assert.equal(s.overheadPerJob, 0.67); // (40 − 38) / 3
  assert.equal(s.overhead, 12); // 40 − 28
  assert.equal(s.ctldPerJob, 11.7);
  assert.equal(s.dbdPerJob, 4);
  const checks = Object.fromEntries(targetChecks(s).map((t) => [t.measure, t.met]));
  assert.deepEqual(Object.values(checks), [true, false, false, true]);
  assert.equal(targetChecks(summarise(phase({ sshConnections: 4 }))).at(-1)!.met, false, 'more connections than workers misses');
});

test('the table: medians over runs for both ways, then the targets', () => {
  const md = benchTable([
    { suite: summarise(phase()), baseline: summarise(phase({ way: 'baseline', wallSeconds: 80, workers: 0, sshConnections: 3 })) },
    { suite: summarise(phase({ wallSeconds: 44 })), baseline: summarise(phase({ way: 'baseline', wallSeconds: 90, workers: 0 })) },
  ]);
  assert.match(md, /^\| measure \(median of 2 runs\) \| suite \| naive sbatch --wait \|$/m);
  assert.match(md, /^\| wall \(s\) \| 42 \| 85 \|$/m);
  assert.match(md, /^\| slurmctld RPCs per job \| ≤ 4 \| 11\.7 \| missed \|$/m);
});
