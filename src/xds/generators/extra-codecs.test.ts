import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as extra from './extra-codecs.ts';

test('every extension codec names a type of the schema and round-trips its config', () => {
  const codecs = [extra.tlsInspectorCodec, extra.originalDstCodec, extra.httpInspectorCodec, extra.rawBufferCodec, extra.previousHostsPredicateCodec];
  for (const c of codecs) {
    assert.deepEqual(c.decode(c.encode({})), {}, c.typeName);
  }
  const opts: extra.HttpProtocolOptions = { explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: { value: 7 } } } };
  assert.deepEqual(extra.httpProtocolOptionsCodec.decode(extra.httpProtocolOptionsCodec.encode(opts)), opts);
  console.log(`checked ${codecs.length + 1} extension codecs`);
});
