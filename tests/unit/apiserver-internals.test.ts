// Pure pieces of the lab API server: selectors, patches, printer-column JSONPath, protobuf bodies.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from '../../lab/cloud/apiserver/selectors.ts';
import { jsonPatch, mergePatch, strategicMergePatch } from '../../lab/cloud/apiserver/patch.ts';
import { evalJsonPath, humanDuration } from '../../lab/cloud/apiserver/tables.ts';
import { decodeK8sProtobuf } from '../../lab/cloud/apiserver/protobuf.ts';
import { checkName } from '../../lab/cloud/apiserver/validation.ts';
import { ApiError } from '../../lab/cloud/apiserver/errors.ts';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'gold', 'lab.mlv.io/role': 'predictor' };
  const cases: [string, boolean][] = [
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (db, web)', true],
    ['app notin (db,web)', false],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['app=web,tier in (gold),lab.mlv.io/role=predictor', true],
    ['app=web,tier=silver', false],
    ['', true],
  ];
  for (const [sel, want] of cases) {
    test(`${JSON.stringify(sel)} -> ${want}`, () => assert.equal(matchLabels(parseLabelSelector(sel), labels), want));
  }
  test('garbage is a 400', () => {
    assert.throws(
      () => parseLabelSelector('app=(web'),
      (e: unknown) => e instanceof ApiError && e.code === 400,
    );
  });
});

describe('field selectors', () => {
  const obj = { metadata: { name: 'a', namespace: 'ns1' }, status: { phase: 'Running' } };
  test('equality, inequality and missing fields', () => {
    assert.equal(matchFields(parseFieldSelector('metadata.name=a,metadata.namespace==ns1'), obj), true);
    assert.equal(matchFields(parseFieldSelector('status.phase!=Running'), obj), false);
    assert.equal(matchFields(parseFieldSelector('spec.nodeName='), obj), true);
  });
});

describe('patches', () => {
  test('JSON merge patch (RFC 7386)', () => {
    assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null, e: 4 }, l: [3] }), { a: 1, b: { d: 3, e: 4 }, l: [3] });
  });
  test('strategic merge patch merges lists by key and honours $patch directives', () => {
    type Patched = { spec: { containers: { name: string; image?: string }[] }; metadata: { finalizers: string[] } };
    const pod = {
      spec: {
        containers: [
          { name: 'a', image: 'a:1' },
          { name: 'b', image: 'b:1' },
        ],
      },
      metadata: { finalizers: ['x'] },
    };
    const out = strategicMergePatch(pod, {
      spec: {
        '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
        containers: [
          { name: 'b', image: 'b:2' },
          { name: 'c', image: 'c:1' },
        ],
      },
      metadata: { finalizers: ['y'] },
    }) as Patched;
    assert.deepEqual(out.spec.containers, [
      { name: 'a', image: 'a:1' },
      { name: 'b', image: 'b:2' },
      { name: 'c', image: 'c:1' },
    ]);
    assert.deepEqual(out.metadata.finalizers, ['x', 'y']);
    const del = strategicMergePatch(out, { spec: { containers: [{ name: 'a', $patch: 'delete' }] }, metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] } }) as Patched;
    assert.deepEqual(
      del.spec.containers.map((c) => c.name),
      ['b', 'c'],
    );
    assert.deepEqual(del.metadata.finalizers, ['y']);
  });
  test('JSON patch (RFC 6902)', () => {
    const doc = { spec: { list: [1, 2], x: 'a' } };
    const out = jsonPatch(doc, [
      { op: 'add', path: '/spec/list/-', value: 3 },
      { op: 'replace', path: '/spec/x', value: 'b' },
      { op: 'copy', from: '/spec/x', path: '/spec/y' },
      { op: 'move', from: '/spec/y', path: '/spec/z' },
      { op: 'remove', path: '/spec/list/0' },
      { op: 'test', path: '/spec/z', value: 'b' },
    ]);
    assert.deepEqual(out, { spec: { list: [2, 3], x: 'b', z: 'b' } });
    assert.deepEqual(doc, { spec: { list: [1, 2], x: 'a' } }, 'input untouched');
    assert.throws(
      () => jsonPatch(doc, [{ op: 'test', path: '/spec/x', value: 'zzz' }]),
      (e: unknown) => e instanceof ApiError && e.code === 422,
    );
  });
});

describe('printer columns', () => {
  const isvc = {
    status: {
      url: 'https://x',
      conditions: [
        { type: 'PredictorReady', status: 'True' },
        { type: 'Ready', status: 'False' },
      ],
      components: {
        predictor: {
          traffic: [
            { latestRevision: true, percent: 100, revisionName: 'r2' },
            { tag: 'prev', percent: 0 },
          ],
        },
      },
    },
  };
  test('KServe column expressions', () => {
    assert.deepEqual(evalJsonPath(isvc, '.status.url'), ['https://x']);
    assert.deepEqual(evalJsonPath(isvc, ".status.conditions[?(@.type=='Ready')].status"), ['False']);
    assert.deepEqual(evalJsonPath(isvc, '.status.components.predictor.traffic[?(@.latestRevision==true)].percent'), [100]);
    assert.deepEqual(evalJsonPath(isvc, ".status.components.predictor.traffic[?(@.tag=='prev')].revisionName"), []);
    assert.deepEqual(evalJsonPath(isvc, '.status.conditions[*].type'), ['PredictorReady', 'Ready']);
    assert.deepEqual(evalJsonPath(isvc, '.status.conditions[1].type'), ['Ready']);
  });
  test('human durations like kubectl', () => {
    assert.equal(humanDuration(5_000), '5s');
    assert.equal(humanDuration(150_000), '2m30s');
    assert.equal(humanDuration(30 * 60_000), '30m');
    assert.equal(humanDuration(5 * 3600_000 + 60_000), '5h1m');
    assert.equal(humanDuration(3 * 86400_000), '3d');
  });
});

describe('names', () => {
  test('DNS-1123 subdomain / label and DNS-1035', () => {
    assert.deepEqual(checkName('mnist-v1.a', 'subdomain'), []);
    assert.equal(checkName('Bad_Name', 'subdomain').length, 1);
    assert.equal(checkName('a.b', 'label').length, 1);
    assert.equal(checkName('1abc', 'dns1035').length, 1);
    assert.equal(checkName('x'.repeat(64), 'label').length, 1);
  });
});

describe('protobuf request bodies', () => {
  // varint / length-delimited helpers to build what kubectl sends
  const varint = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  const field = (num: number, payload: Buffer | string): Buffer => {
    const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    return Buffer.concat([Buffer.from(varint((num << 3) | 2)), Buffer.from(varint(p.length)), p]);
  };
  test('a Namespace as kubectl create namespace sends it', () => {
    const meta = Buffer.concat([field(1, 'team-a'), field(2, ''), field(11, Buffer.concat([field(1, 'k'), field(2, 'v')])), field(8, Buffer.alloc(0))]);
    const ns = Buffer.concat([field(1, meta), field(2, Buffer.alloc(0)), field(3, Buffer.alloc(0))]);
    const unknown = Buffer.concat([field(1, Buffer.concat([field(1, 'v1'), field(2, 'Namespace')])), field(2, ns)]);
    const obj = decodeK8sProtobuf(Buffer.concat([Buffer.from('k8s\0', 'binary'), unknown]));
    assert.deepEqual(obj, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { k: 'v' } }, spec: {}, status: {} });
  });
  test('unsupported kinds are refused', () => {
    const unknown = Buffer.concat([field(1, Buffer.concat([field(1, 'v1'), field(2, 'Weird')])), field(2, Buffer.alloc(0))]);
    assert.throws(() => decodeK8sProtobuf(Buffer.concat([Buffer.from('k8s\0', 'binary'), unknown])), /not supported/);
  });
});
