import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rewriteProbes, REWRITE_ANNOTATION } from './probes.ts';

const app = {
  name: 'helloworld', ports: [{ name: 'http', containerPort: 5000 }],
  readinessProbe: { httpGet: { path: '/hello', port: 5000 }, periodSeconds: 2 },
  livenessProbe: { httpGet: { path: '/live', port: 'http', scheme: 'HTTP' }, timeoutSeconds: 3 },
  startupProbe: { tcpSocket: { port: 'http' } },
};
const worker = { name: 'worker', readinessProbe: { exec: { command: ['true'] } } };
const proxy = { name: 'istio-proxy', readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021 } } };

test('HTTP and TCP probes of app containers go through pilot-agent on 15020; the originals are passed on', () => {
  const r = rewriteProbes([app, worker, proxy], {}, 'istio-proxy');
  const [a, w, p] = r.containers;
  assert.deepEqual(a?.['readinessProbe'], { periodSeconds: 2, httpGet: { path: '/app-health/helloworld/readyz', port: 15020, scheme: 'HTTP' } });
  assert.deepEqual(a['livenessProbe'], { timeoutSeconds: 3, httpGet: { path: '/app-health/helloworld/livez', port: 15020, scheme: 'HTTP' } });
  assert.deepEqual(a['startupProbe'], { httpGet: { path: '/app-health/helloworld/startupz', port: 15020, scheme: 'HTTP' } });
  assert.deepEqual(w, worker, 'exec probes run in the container: untouched');
  assert.deepEqual(p, proxy, 'the proxy\'s own probe is untouched');
  assert.deepEqual(r.probers, {
    '/app-health/helloworld/readyz': { httpGet: { path: '/hello', port: 5000, scheme: 'HTTP' }, timeoutSeconds: 1 },
    '/app-health/helloworld/livez': { httpGet: { path: '/live', port: 5000, scheme: 'HTTP' }, timeoutSeconds: 3 },
    '/app-health/helloworld/startupz': { tcpSocket: { port: 5000 }, timeoutSeconds: 1 },
  }, 'named ports resolved to numbers');
});

test('the annotation set to false leaves every probe alone', () => {
  const r = rewriteProbes([app], { [REWRITE_ANNOTATION]: 'false' }, 'istio-proxy');
  assert.deepEqual(r.containers, [app]);
  assert.deepEqual(r.probers, {});
});
