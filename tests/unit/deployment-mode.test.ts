/**
 * helpers/deployment-mode.ts: KServe's GetDeploymentMode order (status, annotation,
 * inferenceservice-config), the legacy names, and when a concurrency scale check is N/A.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultModeFromConfigMap, detectDeploymentMode, modeLabel, scaleCheckNotApplicable } from '../../helpers/deployment-mode.ts';

const ANN = 'serving.kserve.io/deploymentMode';
const cm = (mode: string) => ({ namespace: 'kserve', data: { deploy: JSON.stringify({ defaultDeploymentMode: mode, deploymentRolloutStrategy: {} }) } });

describe('detectDeploymentMode', () => {
  it('status.deploymentMode wins over the annotation and the ConfigMap', () => {
    const f = detectDeploymentMode({ statusDeploymentMode: 'Serverless', annotations: { [ANN]: 'RawDeployment' }, configMap: cm('Standard') });
    assert.deepEqual(f, { mode: 'Knative', source: 'status.deploymentMode', raw: 'Serverless' });
    assert.equal(modeLabel(f), 'Serverless (Knative KPA)');
    assert.equal(modeLabel(detectDeploymentMode({ statusDeploymentMode: 'Standard' })), 'RawDeployment (Standard, HPA)');
  });

  it('then a known annotation value (legacy RawDeployment is Standard), an unknown one is skipped', () => {
    assert.deepEqual(detectDeploymentMode({ annotations: { [ANN]: 'RawDeployment' }, configMap: cm('Knative') }), { mode: 'Standard', source: `annotation ${ANN}`, raw: 'RawDeployment' });
    assert.equal(detectDeploymentMode({ annotations: { [ANN]: 'Kubernetes' }, configMap: cm('Knative') }).source, 'ConfigMap kserve/inferenceservice-config');
  });

  it("then the ConfigMap's deploy.defaultDeploymentMode; nothing readable is unknown", () => {
    assert.deepEqual(detectDeploymentMode({ configMap: cm('Standard') }), { mode: 'Standard', source: 'ConfigMap kserve/inferenceservice-config', raw: 'Standard' });
    assert.deepEqual(detectDeploymentMode({}), { mode: undefined, source: 'unknown' });
    assert.equal(detectDeploymentMode({ configMap: { namespace: 'kserve', data: { deploy: '{not json' } } }).mode, undefined);
    assert.match(modeLabel(detectDeploymentMode({})), /^unknown/);
  });

  it('reads the deploy key as KServe ships it', () => {
    // config/configmap/inferenceservice.yaml's deploy value
    assert.equal(
      defaultModeFromConfigMap({ deploy: '{\n  "defaultDeploymentMode": "Serverless",\n  "deploymentRolloutStrategy": { "defaultRollout": { "maxSurge": "1", "maxUnavailable": "1" } }\n}' }),
      'Serverless',
    );
    assert.equal(defaultModeFromConfigMap({ ingress: '{}' }), undefined);
    assert.equal(defaultModeFromConfigMap({ deploy: '{"other": 1}' }), undefined);
  });
});

describe('scaleCheckNotApplicable', () => {
  const raw = detectDeploymentMode({ statusDeploymentMode: 'RawDeployment' });
  const kn = detectDeploymentMode({ statusDeploymentMode: 'Knative' });

  it('Standard with concurrency: N/A, naming the HPA and its cpu metric', () => {
    const why = scaleCheckNotApplicable(raw, 'concurrency');
    assert.match(why ?? '', /^the InferenceService runs in RawDeployment mode \(status.deploymentMode\): KServe's HPA scales on cpu, not concurrency/);
    assert.ok(scaleCheckNotApplicable(raw, undefined), 'no scaleMetric is concurrency too');
  });

  it('applies on Knative, on Standard with cpu or memory, and when the mode is unknown', () => {
    assert.equal(scaleCheckNotApplicable(kn, 'concurrency'), undefined);
    assert.equal(scaleCheckNotApplicable(kn, 'rps'), undefined);
    assert.equal(scaleCheckNotApplicable(raw, 'cpu'), undefined);
    assert.equal(scaleCheckNotApplicable(raw, 'memory'), undefined);
    assert.equal(scaleCheckNotApplicable(detectDeploymentMode({}), 'concurrency'), undefined);
  });

  it('ModelMesh has no per-InferenceService autoscaler', () => {
    assert.match(scaleCheckNotApplicable(detectDeploymentMode({ annotations: { [ANN]: 'ModelMesh' } }), 'concurrency') ?? '', /ModelMesh/);
  });
});
