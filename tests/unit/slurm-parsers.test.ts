import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ACTIVE_STATES,
  daemonOf,
  expandHostlist,
  parsePing,
  parseSacctRuns,
  parseSinfoProbe,
  parseSinfoReasons,
  pendingKind,
  slurmMessage,
  UNAVAILABLE_NODE,
  UNKNOWN_JOB,
  parseElapsed,
  parseGres,
  parseSacct,
  parseSinfoNodes,
  parseSqueue,
  parseTres,
  SACCT_FIELDS,
  SINFO_NODE_FORMAT,
  SINFO_PROBE_FORMAT,
  SQUEUE_FORMAT,
} from '../../helpers/slurm-parsers.ts';

/** Real outputs recorded on the lab (Slurm 22.05.8); see tests/recorded/slurm/README.md. */
const recorded = (name: string) => readFileSync(fileURLToPath(new URL(`../recorded/slurm/${name}`, import.meta.url)), 'utf8');

test('the formats match the commands the recordings were made with', () => {
  const readme = recorded('README.md');
  assert.ok(readme.includes(`squeue -h -o '${SQUEUE_FORMAT.replace(/\|/g, '\\|')}'`));
  assert.ok(readme.includes(`-o ${SACCT_FIELDS.join(',')}`));
  assert.ok(readme.includes(`sinfo -N -h -o '${SINFO_NODE_FORMAT.replace(/\|/g, '\\|')}'`));
  assert.ok(readme.includes(`sinfo -N -h -o '${SINFO_PROBE_FORMAT.replace(/\|/g, '\\|')}'`));
});

test("the preflight's one sinfo (recorded): nodes as sinfo -o SINFO_NODE_FORMAT gives them, and each node's reason", () => {
  const idle = parseSinfoProbe(recorded('sinfo-probe-idle.txt'));
  assert.deepEqual(idle.nodes, parseSinfoNodes(recorded('sinfo-nodes-idle.txt')));
  assert.deepEqual(idle.reasons, [
    { node: 'node1', state: 'idle', reason: 'none', since: 'Unknown' },
    { node: 'node2', state: 'idle', reason: 'none', since: 'Unknown' },
  ]);
  const drained = parseSinfoProbe(recorded('sinfo-probe-drained.txt'));
  assert.deepEqual(
    drained.nodes.map((n) => [n.node, n.state, n.flags]),
    [
      ['node1', 'idle', ''],
      ['node2', 'drained', ''],
    ],
  );
  assert.deepEqual(drained.reasons[1], { node: 'node2', state: 'drained', reason: 'disk|full: recorded', since: drained.reasons[1]!.since });
  assert.match(drained.reasons[1]!.since, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  assert.throws(() => parseSinfoProbe('node1|lab*|idle|2|4000|gpu:4\n'), /unexpected sinfo line \(want %N\|%P\|%T\|%c\|%m\|%G\|%H\|%E\)/);
});

test('squeue (recorded): every job, pending reasons with commas, running nodes, comments', () => {
  const rows = parseSqueue(recorded('squeue.txt'));
  assert.deepEqual(
    rows.map((r) => r.jobId),
    ['13', '14', '16', '17', '18', '15', '11', '12'],
  );
  const byId = Object.fromEntries(rows.map((r) => [r.jobId, r]));
  assert.deepEqual(byId['13'], { jobId: '13', name: 'rec-waits-resources', state: 'PENDING', reason: 'Resources', nodes: [], comment: 'pending-resources' });
  assert.equal(byId['16']!.reason, 'Dependency');
  assert.equal(byId['15']!.reason, 'JobHeldUser');
  assert.equal(byId['17']!.reason, 'ReqNodeNotAvail, May be reserved for other job');
  assert.equal(byId['17']!.comment, 'needs-reserved-node');
  assert.deepEqual(byId['18'], {
    jobId: '18',
    name: 'mlv-20261128212719-w5kb-mlops-1.1-verify',
    state: 'PENDING',
    reason: 'Priority',
    nodes: [],
    comment: 'mlv-run=mlv-20261128212719-w5kb',
  });
  // Running jobs: reason "None" becomes empty, %N is expanded.
  assert.deepEqual(byId['11'], { jobId: '11', name: 'rec-gpu-blocker-1', state: 'RUNNING', reason: '', nodes: ['node1'], comment: 'holds-node1-gpus' });
  assert.deepEqual(byId['12']!.nodes, ['node2']);
  // Only job 18 carries a run id: no "(null)" comment may be mistaken for one.
  assert.deepEqual(
    rows.filter((r) => r.comment.startsWith('mlv-run=')).map((r) => r.jobId),
    ['18'],
  );
  for (const r of rows) assert.ok(ACTIVE_STATES.has(r.state));
});

test('squeue (recorded): empty output is no jobs', () => {
  assert.equal(recorded('squeue-empty.txt'), '');
  assert.deepEqual(parseSqueue(recorded('squeue-empty.txt')), []);
  assert.deepEqual(parseSqueue('\n\n'), []);
});

test('squeue: a comment containing "|" is kept whole; malformed lines throw', () => {
  assert.equal(parseSqueue('7|n|RUNNING|None|node1|a|b|c\n')[0]!.comment, 'a|b|c');
  assert.throws(() => parseSqueue('7|n|RUNNING|None|node1\n'), /unexpected squeue line/);
  assert.throws(() => parseSqueue('squeue: error: Invalid user: nobody\n'), /unexpected squeue line/);
  assert.throws(() => parseSqueue('13|ok|PENDING|Resources||c\ngarbage\n'), /garbage/);
});

test('sacct (recorded): allocations and steps', () => {
  const rows = parseSacct(recorded('sacct-parsable2.txt'));
  assert.equal(rows.length, 14);
  const row = (id: string, step?: string) => {
    const r = rows.find((x) => x.jobId === id && x.step === step);
    assert.ok(r, `no row ${id}.${step}`);
    return r;
  };
  // 2: TIMEOUT; its batch step was killed by SIGTERM.
  assert.equal(row('2').state, 'TIMEOUT');
  assert.equal(row('2').elapsedSeconds, 85);
  assert.equal(row('2').comment, 'will-time-out');
  assert.equal(row('2', 'batch').state, 'CANCELLED');
  assert.equal(row('2', 'batch').exitCode, 0);
  assert.equal(row('2', 'batch').signal, 15);
  assert.equal(row('2', 'batch').comment, '');
  // 3: COMPLETED with one GPU.
  assert.deepEqual(
    { state: row('3').state, exitCode: row('3').exitCode, signal: row('3').signal, gpus: row('3').tres.gpus, mem: row('3').tres.memMB, cpu: row('3').tres.cpu, nodes: row('3').nodes },
    { state: 'COMPLETED', exitCode: 0, signal: 0, gpus: 1, mem: 500, cpu: 1, nodes: ['node1'] },
  );
  // 4: FAILED with exit code 3, no GPUs: gres/gpu absent from AllocTRES.
  assert.equal(row('4').state, 'FAILED');
  assert.equal(row('4').exitCode, 3);
  assert.equal(row('4').tres.gpus, undefined);
  assert.deepEqual(row('4').nodes, ['node2']);
  // 5: "CANCELLED by 1001" → state word CANCELLED, the detail kept.
  assert.equal(row('5').state, 'CANCELLED');
  assert.equal(row('5').stateDetail, 'CANCELLED by 1001');
  assert.equal(row('5').tres.gpus, 2);
  assert.equal(row('5', 'batch').signal, 15);
  // 6: multi-node, multi-step; one step failed while the job completed.
  assert.deepEqual(row('6').nodes, ['node1', 'node2']);
  assert.equal(row('6').tres.nodes, 2);
  assert.equal(row('6').tres.memMB, 1000);
  assert.equal(row('6').tres.gpus, 2);
  assert.equal(row('6', 'batch').tres.gpus, 1, "the batch step holds the batch host's share only");
  assert.deepEqual(
    rows.filter((r) => r.jobId === '6' && r.step !== undefined).map((r) => [r.step, r.name, r.state, r.exitCode, r.elapsedSeconds]),
    [
      ['batch', 'batch', 'COMPLETED', 0, 6],
      ['0', 'hostname', 'COMPLETED', 0, 0],
      ['1', 'python3', 'COMPLETED', 0, 4],
      ['2', 'bash', 'FAILED', 3, 0],
      ['3', 'sleep', 'COMPLETED', 0, 2],
    ],
  );
  assert.deepEqual(row('6', '2').nodes, ['node1']);
  // No finished state is "active".
  for (const r of rows) assert.ok(!ACTIVE_STATES.has(r.state), r.state);
});

test('sacct: state words with "+" and "by", comments with "|", and malformed lines', () => {
  const line = (state: string, extra = '') => `9|j|${state}|0:0|00:00:01|cpu=1|node1|c${extra}\n`;
  assert.equal(parseSacct(line('CANCELLED by 1000'))[0]!.state, 'CANCELLED');
  assert.equal(parseSacct(line('CANCELLED by 1000'))[0]!.stateDetail, 'CANCELLED by 1000');
  assert.equal(parseSacct(line('CANCELLED+'))[0]!.state, 'CANCELLED');
  assert.equal(parseSacct(line('OUT_OF_MEMORY'))[0]!.state, 'OUT_OF_MEMORY');
  assert.equal(parseSacct(line('NODE_FAIL'))[0]!.state, 'NODE_FAIL');
  assert.equal(parseSacct(line('COMPLETED', '|x|y'))[0]!.comment, 'c|x|y');
  assert.equal(parseSacct('9.extern|extern|COMPLETED|0:0|00:00:01|cpu=1|node1|\n')[0]!.step, 'extern');
  assert.equal(parseSacct('9_3|arr|COMPLETED|0:0|00:00:01|cpu=1|node1|\n')[0]!.jobId, '9_3');
  assert.throws(() => parseSacct('9|j|COMPLETED|0:0|00:00:01|cpu=1|node1\n'), /unexpected sacct line/);
  assert.throws(() => parseSacct('sacct: error: Problem talking to the database: Connection refused\n'), /unexpected sacct line/);
  assert.throws(() => parseSacct('9|j|COMPLETED|0:0|soon|cpu=1|node1|\n'), /unexpected elapsed time/);
  assert.deepEqual(parseSacct(''), []);
});

test('sinfo -N (recorded): mixed and idle', () => {
  const mixed = parseSinfoNodes(recorded('sinfo-nodes.txt'));
  assert.deepEqual(mixed, [
    { node: 'node1', partition: 'lab', state: 'mixed', flags: '', cpus: 2, memoryMB: 4000, gres: { gpu: 4 } },
    { node: 'node2', partition: 'lab', state: 'mixed', flags: '', cpus: 2, memoryMB: 4000, gres: { gpu: 4 } },
  ]);
  const idle = parseSinfoNodes(recorded('sinfo-nodes-idle.txt'));
  assert.deepEqual(
    idle.map((n) => [n.node, n.state, n.partition]),
    [
      ['node1', 'idle', 'lab'],
      ['node2', 'idle', 'lab'],
    ],
  );
});

test('sinfo -N: state flags, typed GRES, no GRES, malformed lines', () => {
  const rows = parseSinfoNodes(
    ['gpu01|batch*|idle*|64|512000|gpu:a100:4(S:0-1)', 'gpu02|batch|drained~|64|512000|gpu:a100:4(S:0-1)', 'cpu01|batch|down$|32|256000|(null)', 'cpu02|batch|ALLOCATED|32|256000|(null)'].join('\n'),
  );
  assert.deepEqual(
    rows.map((r) => [r.node, r.partition, r.state, r.flags, r.gres]),
    [
      ['gpu01', 'batch', 'idle', '*', { gpu: 4 }],
      ['gpu02', 'batch', 'drained', '~', { gpu: 4 }],
      ['cpu01', 'batch', 'down', '$', {}],
      ['cpu02', 'batch', 'allocated', '', {}],
    ],
  );
  assert.throws(() => parseSinfoNodes('node1|lab*|idle|2|4000\n'), /unexpected sinfo line/);
  assert.throws(() => parseSinfoNodes('sinfo: error: some failure\n'), /unexpected sinfo line/);
  assert.deepEqual(parseSinfoNodes(''), []);
});

test('expandHostlist: ranges, lists, zero padding, suffixes', () => {
  assert.deepEqual(expandHostlist('node[1-3,5]'), ['node1', 'node2', 'node3', 'node5']);
  assert.deepEqual(expandHostlist('gpu[01-03]'), ['gpu01', 'gpu02', 'gpu03']);
  assert.deepEqual(expandHostlist('n[08-11]'), ['n08', 'n09', 'n10', 'n11']);
  assert.deepEqual(expandHostlist('node[9-11]'), ['node9', 'node10', 'node11']);
  assert.deepEqual(expandHostlist('a1,b[2-3]'), ['a1', 'b2', 'b3']);
  assert.deepEqual(expandHostlist('node[1-2],login1'), ['node1', 'node2', 'login1']);
  assert.deepEqual(expandHostlist('x[1-2]y,z'), ['x1y', 'x2y', 'z']);
  assert.deepEqual(expandHostlist('node[1-2],gpu[07,10-11]'), ['node1', 'node2', 'gpu07', 'gpu10', 'gpu11']);
  assert.deepEqual(expandHostlist('node1'), ['node1']);
  assert.deepEqual(expandHostlist('node[1-2]'), ['node1', 'node2']);
});

test('expandHostlist: nothing assigned', () => {
  assert.deepEqual(expandHostlist(''), []);
  assert.deepEqual(expandHostlist('None assigned'), []);
  assert.deepEqual(expandHostlist('(null)'), []);
});

test('expandHostlist: two bracket groups in one name', () => {
  assert.deepEqual(expandHostlist('rack[1-2]-n[1-2]'), ['rack1-n1', 'rack1-n2', 'rack2-n1', 'rack2-n2']);
});

test('parseTres: gres/gpu, mem units, counts', () => {
  const t = parseTres('billing=2,cpu=2,gres/gpu=1,mem=1000M,node=1');
  assert.deepEqual(t, { cpu: 2, memMB: 1000, nodes: 1, gpus: 1, raw: { billing: '2', cpu: '2', 'gres/gpu': '1', mem: '1000M', node: '1' } });
  assert.equal(parseTres('mem=4G').memMB, 4096);
  assert.equal(parseTres('mem=1.5G').memMB, 1536);
  assert.equal(parseTres('mem=2T').memMB, 2 * 1024 * 1024);
  assert.equal(parseTres('mem=2048K').memMB, 2);
  assert.equal(parseTres('mem=500').memMB, 500);
  assert.ok(Number.isNaN(parseTres('mem=lots').memMB!));
  assert.equal(parseTres('cpu=4,mem=8G').gpus, undefined);
  assert.equal(parseTres('gres/gpu=8,gres/gpu:a100=8').gpus, 8);
  assert.equal(parseTres('gres/gpumem=80G').gpus, undefined, 'gres/gpumem is not a GPU count');
  assert.deepEqual(parseTres(''), { cpu: undefined, memMB: undefined, nodes: undefined, gpus: undefined, raw: {} });
});

test('parseElapsed: MM:SS, HH:MM:SS, D-HH:MM:SS, fractions', () => {
  assert.equal(parseElapsed('05:30'), 330);
  assert.equal(parseElapsed('00:00'), 0);
  assert.equal(parseElapsed('01:02:03'), 3723);
  assert.equal(parseElapsed('00:01:25'), 85);
  assert.equal(parseElapsed('1-02:03:04'), 93784);
  assert.equal(parseElapsed('2-00:00:00'), 172800);
  assert.equal(parseElapsed('12:34.567'), 754.567);
  assert.equal(parseElapsed(' 00:00:09 '), 9);
  for (const bad of ['', 'INVALID', 'UNLIMITED', 'Partition_Limit', '5', '1-', '-01:00:00', '01:02:03:04', 'a:b']) {
    assert.throws(() => parseElapsed(bad), /unexpected elapsed time/, JSON.stringify(bad));
  }
});

test('parseGres: counts per name, types and socket suffixes', () => {
  assert.deepEqual(parseGres('gpu:4'), { gpu: 4 });
  assert.deepEqual(parseGres('gpu:a100:4(S:0-1)'), { gpu: 4 });
  assert.deepEqual(parseGres('gpu:a100:4(IDX:0-3)'), { gpu: 4 });
  assert.deepEqual(parseGres('gpu:2,shard:8'), { gpu: 2, shard: 8 });
  assert.deepEqual(parseGres('gpu:a100:2(S:0),gpu:v100:1(S:1)'), { gpu: 3 });
  assert.deepEqual(parseGres('gpu:a100:4(S:0-1),mps:100'), { gpu: 4, mps: 100 });
  assert.deepEqual(parseGres('(null)'), {});
  assert.deepEqual(parseGres(''), {});
  assert.deepEqual(parseGres('gpu'), { gpu: 1 });
});

test('ACTIVE_STATES: every state in which a job can still change, and no final one', () => {
  const active = [
    'PENDING',
    'CONFIGURING',
    'RUNNING',
    'COMPLETING',
    'SUSPENDED',
    'REQUEUED',
    'RESIZING',
    'SIGNALING',
    'STAGE_OUT',
    'STOPPED',
    'RESV_DEL_HOLD',
    'REQUEUE_FED',
    'REQUEUE_HOLD',
    'SPECIAL_EXIT',
  ];
  assert.deepEqual([...ACTIVE_STATES].sort(), [...active].sort());
  for (const s of ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'REVOKED', '']) assert.ok(!ACTIVE_STATES.has(s), s);
});

test('squeue: "None" reason and "(null)" comment are empty; other values are kept', () => {
  const [a, b] = parseSqueue('1|j|PENDING|None|(null)|(null)\n2|k|RUNNING|Resources|n[1-2]|(null)x\n');
  assert.deepEqual([a!.reason, a!.comment, a!.nodes], ['', '', []]);
  assert.deepEqual([b!.reason, b!.comment, b!.nodes], ['Resources', '(null)x', ['n1', 'n2']]);
  assert.deepEqual(
    parseSqueue('  \n3|x|RUNNING|None|n1|c  \n\n').map((r) => [r.jobId, r.comment]),
    [['3', 'c']],
    'blank lines skipped, trailing spaces trimmed',
  );
  assert.equal(parseSqueue('  4|x|RUNNING|None|n1|c')[0]!.jobId, '  4', 'leading spaces kept: the format has none');
});

test('parseTres: empty parts and keys without "=" are ignored; mem needs a whole match', () => {
  assert.deepEqual(parseTres(',cpu=4,,=9,flag,node=2').raw, { cpu: '4', node: '2' });
  assert.equal(parseTres('mem=2G').memMB, 2048);
  assert.equal(parseTres('mem=512K').memMB, 0.5);
  assert.equal(parseTres('mem=1T').memMB, 1024 * 1024);
  assert.equal(parseTres('mem=100').memMB, 100);
  assert.ok(Number.isNaN(parseTres('mem=2GB').memMB!));
  assert.ok(Number.isNaN(parseTres('mem=x2G').memMB!));
  assert.equal(parseTres('gres/gpu:a100=2').gpus, undefined, 'only the untyped gres/gpu counts');
});

test('parseElapsed: days of several digits; malformed times throw', () => {
  assert.equal(parseElapsed('12-00:00:01'), 12 * 86400 + 1);
  assert.equal(parseElapsed(' 01:02 '), 62);
  for (const bad of ['1-2', '1:2:3:4', 'a:00', '00:00x', 'x00:00']) assert.throws(() => parseElapsed(bad), /unexpected elapsed time/, bad);
});

test('sacct: the error for a short line names the fields; state suffix "+" only at the end', () => {
  assert.throws(() => parseSacct('1|j|RUNNING'), { message: 'unexpected sacct line (want JobID|JobName|State|ExitCode|Elapsed|AllocTRES|NodeList|Comment): 1|j|RUNNING' });
  const [r] = parseSacct('7.batch|batch|CANCELLED+|0:15|00:01|cpu=1|n1|');
  assert.deepEqual([r!.jobId, r!.step, r!.state, r!.exitCode, r!.signal], ['7', 'batch', 'CANCELLED', 0, 15]);
  assert.equal(parseSacct('8|j|A+B|0:0|00:01||n1|')[0]!.state, 'A+B');
});

test('sinfo: state words with flags, default partition mark, odd states', () => {
  const rows = parseSinfoNodes('n1|gpu*|idle*|8|1000|gpu:2\nn2|gpu|DRAINED|8|1000|(null)\nn3|cpu*x|mixed-|8|1000|\nn4|p|down*~|8|1000|\nn5|p|weird state|8|1000|\nn6|p|drain$x|8|1000|');
  assert.deepEqual(
    rows.map((r) => [r.node, r.partition, r.state, r.flags]),
    [
      ['n1', 'gpu', 'idle', '*'],
      ['n2', 'gpu', 'drained', ''],
      ['n3', 'cpu*x', 'mixed', '-'],
      ['n4', 'p', 'down', '*~'],
      ['n5', 'p', 'weird state', ''],
      ['n6', 'p', 'drain$x', ''],
    ],
  );
  assert.equal(parseSinfoNodes('n7|p|IDLE|8|1000|')[0]!.state, 'idle');
  assert.throws(() => parseSinfoNodes('n1|gpu|idle|8|1000'), /unexpected sinfo line \(want %N\|%P\|%T\|%c\|%m\|%G\)/);
});

test('parseGres: commas inside a socket list, a name alone counts 1, a bad count counts 1', () => {
  assert.deepEqual(parseGres('gpu:a100:2(S:0,1),shard:8'), { gpu: 2, shard: 8 });
  assert.deepEqual(parseGres('gpu:4(IDX:0-1,3),mps:100'), { gpu: 4, mps: 100 });
  assert.deepEqual(parseGres('gpu:2(S:0)x'), { gpu: 1 }, 'a group not at the end is no socket suffix');
  assert.deepEqual(parseGres('nic'), { nic: 1 });
  assert.deepEqual(parseGres('gpu:a100'), { gpu: 1 });
  assert.deepEqual(parseGres('gpu:1,gpu:2'), { gpu: 3 });
});

test('expandHostlist: empty parts are dropped; the bracket group must close', () => {
  assert.deepEqual(expandHostlist('a,,b,'), ['a', 'b']);
  assert.deepEqual(expandHostlist('x[1-2]'), ['x1', 'x2']);
  assert.deepEqual(expandHostlist('pre-x[1]y'), ['pre-x1y']);
  assert.deepEqual(expandHostlist('x[1-2'), ['x[1-2']);
});

test('sinfo node reasons (%N|%T|%E|%H): state, reason and since, as sinfo prints them', () => {
  const rows = parseSinfoReasons('node1|idle|none|Unknown\nnode2|down*|Not responding|2026-12-02T01:52:38\nnode3|drained|disk replacement|2026-12-02T01:00:00\n');
  assert.deepEqual(rows[1], { node: 'node2', state: 'down*', reason: 'Not responding', since: '2026-12-02T01:52:38' });
  assert.deepEqual(
    rows.filter((r) => UNAVAILABLE_NODE.test(r.state)).map((r) => r.node),
    ['node2', 'node3'],
  );
  for (const s of ['idle', 'mixed', 'allocated', 'completing']) assert.equal(UNAVAILABLE_NODE.test(s), false, s);
  for (const s of ['down', 'drain', 'draining', 'fail', 'maint', 'powered_down']) assert.equal(UNAVAILABLE_NODE.test(s), true, s);
  assert.throws(() => parseSinfoReasons('node1|idle'), /unexpected sinfo line/);
});

test('sacct --duplicates runs: a requeued job shows its NODE_FAIL run and its new PENDING one', () => {
  const runs = parseSacctRuns(
    '12|NODE_FAIL|node[1-2]|2026-12-02T01:50:01|2026-12-02T01:52:40\n12|PENDING|None assigned|Unknown|Unknown\n13|CANCELLED by 1000|node1|2026-12-02T01:50:01|2026-12-02T01:51:00\n',
  );
  assert.deepEqual(runs[0], { jobId: '12', state: 'NODE_FAIL', nodes: ['node1', 'node2'], start: '2026-12-02T01:50:01', end: '2026-12-02T01:52:40' });
  assert.deepEqual(runs[1]!.nodes, []);
  assert.equal(runs[2]!.state, 'CANCELLED');
  assert.throws(() => parseSacctRuns('12|PENDING'), /unexpected sacct line/);
});

test('scontrol ping: UP and DOWN, primary and backup; anything else is no answer', () => {
  assert.deepEqual(parsePing('Slurmctld(primary) at vm is UP\n'), [{ role: 'primary', host: 'vm', up: true }]);
  assert.deepEqual(parsePing('Slurmctld(primary) at ctl1 is DOWN\nSlurmctld(backup) at ctl2 is UP\n'), [
    { role: 'primary', host: 'ctl1', up: false },
    { role: 'backup', host: 'ctl2', up: true },
  ]);
  assert.deepEqual(parsePing('slurm_load_ctl_conf error: Unable to contact slurm controller (connect failure)\n'), []);
});

test('the daemon behind each client command, and SLURM message on one line', () => {
  assert.equal(daemonOf('squeue'), 'slurmctld');
  assert.equal(daemonOf('scontrol'), 'slurmctld');
  assert.equal(daemonOf('scancel'), 'slurmctld');
  assert.equal(daemonOf('sacct'), 'slurmdbd');
  assert.equal(daemonOf('sacctmgr'), 'slurmdbd');
  assert.equal(
    slurmMessage('sacct: error: Sending PersistInit msg: Connection refused\nsacct: error: Problem talking to the database: Connection refused\n'),
    'sacct: error: Sending PersistInit msg: Connection refused; sacct: error: Problem talking to the database: Connection refused',
  );
  assert.equal(slurmMessage('', 'Slurmctld(primary) at vm is DOWN\n'), 'Slurmctld(primary) at vm is DOWN');
  assert.equal(slurmMessage('  \n'), 'no output');
  assert.equal(slurmMessage('x'.repeat(1000)).length, 400);
  assert.ok(UNKNOWN_JOB.test('slurm_load_jobs error: Invalid job id specified'));
  assert.equal(UNKNOWN_JOB.test('slurm_load_jobs error: Unable to contact slurm controller (connect failure)'), false);
});

test('pending reasons: busy queue, cannot clear, nodes to check with sinfo, other', () => {
  for (const r of [
    'Priority',
    'Resources',
    'QOSMaxJobsPerUserLimit',
    'AssocGrpGRES',
    'BeginTime',
    'Dependency',
    'ReqNodeNotAvail, Reserved for maintenance',
    'ReqNodeNotAvail, May be reserved for other job',
    '',
  ])
    assert.deepEqual(pendingKind(r), { kind: 'queue' }, r);
  for (const r of ['PartitionDown', 'PartitionInactive', 'BadConstraints', 'NodeDown', 'DependencyNeverSatisfied']) assert.deepEqual(pendingKind(r), { kind: 'stuck' }, r);
  assert.deepEqual(pendingKind('ReqNodeNotAvail, UnavailableNodes:node[2-3]'), { kind: 'nodes', nodes: ['node2', 'node3'] });
  for (const r of ['PartitionNodeLimit', 'JobHeldAdmin', 'launch failed requeued held', 'ReqNodeNotAvail']) assert.deepEqual(pendingKind(r), { kind: 'other' }, r);
});
