import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignments } from './lb-allocator.ts';
import { poolAddresses } from './node-net.ts';

const svc = (name: string, type: string, extra: { lbIP?: string; ingress?: string } = {}) => ({
  metadata: { namespace: 'default', name },
  spec: { type, ...(extra.lbIP === undefined ? {} : { loadBalancerIP: extra.lbIP }) },
  status: { loadBalancer: { ingress: extra.ingress === undefined ? [] : [{ ip: extra.ingress }] } },
});

test('LoadBalancer Services without an address get the first free one, or the one they ask for', () => {
  const pool = poolAddresses('198.19.128.0/24');
  assert.equal(pool[0], '198.19.128.10');
  assert.equal(pool.at(-1), '198.19.128.250');
  const taken = svc('old', 'LoadBalancer', { ingress: '198.19.128.10' });
  const plain = svc('plain', 'ClusterIP');
  const a = svc('a', 'LoadBalancer');
  const b = svc('b', 'LoadBalancer', { lbIP: '198.19.128.77' });
  const c = svc('c', 'LoadBalancer', { lbIP: '10.0.0.1' }); // outside the pool: gets a free one instead
  const got = assignments([taken, plain, a, b, c], pool);
  assert.deepEqual([...got].map(([s, ip]) => [s.metadata.name, ip]), [['a', '198.19.128.11'], ['b', '198.19.128.77'], ['c', '198.19.128.12']]);
});

test('an exhausted pool leaves the Service pending', () => {
  const got = assignments([svc('x', 'LoadBalancer', { ingress: '198.19.128.10' }), svc('y', 'LoadBalancer')], ['198.19.128.10']);
  assert.equal(got.size, 0);
});
