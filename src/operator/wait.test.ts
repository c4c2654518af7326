import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readiness } from './wait.ts';

test('CRDs are ready once Established', () => {
  assert.equal(readiness('CustomResourceDefinition', { status: { conditions: [{ type: 'Established', status: 'True' }] } }).ready, true);
  assert.equal(readiness('CustomResourceDefinition', {}).ready, false);
});

test('Deployments: no controller, not observed, not available, available', () => {
  assert.match(readiness('Deployment', { spec: { replicas: 1 } }).reason, /no controller has reported status/);
  assert.match(readiness('Deployment', { metadata: { generation: 2 }, status: { observedGeneration: 1 } }).reason, /not yet observed/);
  const r = readiness('Deployment', { spec: { replicas: 2 }, status: { observedGeneration: 1, availableReplicas: 1, updatedReplicas: 2, conditions: [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' }] } });
  assert.equal(r.ready, false);
  assert.match(r.reason, /1\/2 replicas available; Available: MinimumReplicasUnavailable/);
  assert.equal(readiness('Deployment', { spec: { replicas: 1 }, status: { observedGeneration: 1, availableReplicas: 1, updatedReplicas: 1 } }).ready, true);
});
