/**
 * Node metadata holding a protobuf Value with no kind set: istiod refuses the stream with
 * INVALID_ARGUMENT instead of reading it as something; Isthmus does the same, naming the field.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { CLUSTER_TYPE_URL as CDS } from '../../model/type-urls.ts';
import { structFromJson, unsetValuePath } from '../../proto/wkt.ts';
import { AdsTestClient } from '../../testing/ads-client.ts';
import { fakeMeshView } from '../../testing/mesh/builders.ts';
import { Pipeline } from '../../testing/pipeline.ts';

let pipeline: Pipeline;
before(async () => { pipeline = await Pipeline.start(() => fakeMeshView({})); });
after(async () => { await pipeline.close(); });

test('unsetValuePath names the first Value with no kind, in structs and lists', () => {
  assert.equal(unsetValuePath(structFromJson({ a: 1, b: { c: [true, null, 'x'] } }), 'node.metadata'), undefined);
  assert.equal(unsetValuePath({ fields: { LABELS: { structValue: { fields: { app: {} } } } } }, 'node.metadata'), 'node.metadata.LABELS.app');
  assert.equal(unsetValuePath({ fields: { IPS: { listValue: { values: [{ stringValue: 'a' }, {}] } } } }, 'node.metadata'), 'node.metadata.IPS[1]');
});

test('a stream whose node metadata holds an unset Value is refused with INVALID_ARGUMENT naming it; a good one is served', async () => {
  const bad = new AdsTestClient({ address: pipeline.address, nodeId: 'unused' });
  bad.send({ typeUrl: CDS, node: { id: 'sidecar~10.1.0.9~bad.default~default.svc.cluster.local', metadata: { fields: { NAMESPACE: { stringValue: 'default' }, CLUSTER_ID: {} } } } });
  const err = await bad.failure();
  bad.close();
  assert.equal(err.code, status.INVALID_ARGUMENT);
  assert.match(err.details, /node\.metadata\.CLUSTER_ID: a protobuf Value with no kind set/);
  const good = await pipeline.sidecar('31', [[CDS, []]]);
  assert.equal(good.error, undefined, 'the refused stream harmed nobody');
});
