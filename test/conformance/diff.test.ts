/** Unit tests of the conformance comparison: keyed lists, set-like string lists, accepted-list globs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptedFor, diffJson, type Difference } from './lib/diff.ts';

test('list elements are matched by what identifies them, so reordering is not a difference', () => {
  const out: Difference[] = [];
  diffJson('CDS/c', { filter_chains: [{ name: 'a', filter_chain_match: { server_names: ['x'] } }, { filter_chain_match: { server_names: ['y'] } }] },
    { filter_chains: [{ filter_chain_match: { server_names: ['y'] } }, { name: 'b', filter_chain_match: { server_names: ['x'] } }] }, out);
  assert.deepEqual(out.map((d) => [d.path, d.istiod, d.isthmus]), [['CDS/c/filter_chains[{"server_names":("x")}]/name', 'a', 'b']]);
  const domains: Difference[] = [];
  diffJson('RDS/r/domains', ['a', 'b'], ['b', 'a'], domains);
  assert.equal(domains.length, 0, 'domains compare as a set');
});

test('a missing endpoint is named by its address; globs stay within a segment unless **', () => {
  const out: Difference[] = [];
  const ep = (ip: string) => ({ endpoint: { address: { socket_address: { address: ip, port_value: 80 } } } });
  diffJson('EDS/c', { endpoints: [{ locality: { zone: 'z' }, lb_endpoints: [ep('10.0.0.1'), ep('10.0.0.2')] }] }, { endpoints: [{ locality: { zone: 'z' }, lb_endpoints: [ep('10.0.0.1')] }] }, out);
  assert.equal(out.length, 1);
  const d = out[0] as Difference;
  assert.equal(d.path, 'EDS/c/endpoints[z%2F@10.0.0.1:80]/lb_endpoints[10.0.0.2:80]');
  assert.equal(acceptedFor(d, 'sidecar-c1', [{ path: 'EDS/*/lb_endpoints[*]', reason: 'x' }]), undefined, '* does not cross /');
  assert.ok(acceptedFor(d, 'sidecar-c1', [{ path: 'EDS/**/lb_endpoints[10.0.0.2:80]', reason: 'x' }]));
  assert.equal(acceptedFor(d, 'sidecar-c1', [{ path: 'EDS/**', nodes: ['gateway-c1'], reason: 'x' }]), undefined, 'other node only');
  assert.equal(acceptedFor(d, 'sidecar-c1', [{ path: 'EDS/**', isthmus: 'present', reason: 'x' }]), undefined, 'value-presence condition');
});
