import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Target } from '../../helpers/config.ts';
import { configured, requestedProjects, unconfiguredProjects } from '../../helpers/projects.ts';

const cloudOnly = { name: 'k8s', source: '/tmp/k8s.env', capabilities: ['kserve'], references: 'default', workers: 4, cloud: {} } as Target;

test('requested projects: --project=X, --project X, repeated', () => {
  assert.deepEqual(requestedProjects(['node', 'pw', 'test', '--project=hpc', '--project', 'cloud', '--grep', '@critical']), ['hpc', 'cloud']);
  assert.deepEqual(requestedProjects(['node', 'pw', 'test']), []);
});

test('a cloud-only target supports the cloud projects only', () => {
  assert.equal(configured(cloudOnly, 'cloud'), true);
  assert.equal(configured(cloudOnly, 'preflight-cloud'), true);
  assert.equal(configured(cloudOnly, 'hpc'), false);
  assert.equal(configured(cloudOnly, 'e2e'), false, 'e2e needs both sides');
  assert.equal(configured(cloudOnly, 'controls'), true, 'a project without a side is always there');
});

test('asking for a project whose side is missing names the project, the target and the settings', () => {
  const [m, ...rest] = unconfiguredProjects(cloudOnly, ['cloud', 'hpc']);
  assert.equal(rest.length, 0);
  assert.match(m ?? '', /^--project=hpc needs the HPC side of target "k8s" \(\/tmp\/k8s\.env\), which is not configured\. Fix: set MLV_SSH_HOST, MLV_SLURM_PARTITION and MLV_SHARED_ROOT/);
  assert.deepEqual(unconfiguredProjects(cloudOnly, ['cloud']), []);
  assert.equal(unconfiguredProjects(cloudOnly, ['e2e']).length, 1);
});
