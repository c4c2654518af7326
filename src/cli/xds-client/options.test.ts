import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isIsthmusError } from '../../model/errors.ts';
import { expectedAuthority, parseBool, preferExperimental, resolveXdsConfig, type Env, type XdsFlags } from './options.ts';

test('resolveXdsConfig: flag over env over default, as viper does', () => {
  const cases: { flags: XdsFlags; env: Env; want: Partial<ReturnType<typeof resolveXdsConfig>> }[] = [
    { flags: {}, env: {}, want: { xdsAddress: '', istioNamespace: 'istio-system', xdsPort: 15012, xdsLabel: 'app=istiod', insecure: false, plaintext: false, timeoutMs: 30_000, authority: '', certDir: '' } },
    { flags: {}, env: { ISTIOCTL_XDS_ADDRESS: '127.0.0.1:9090', ISTIOCTL_ISTIONAMESPACE: 'external-istiod' }, want: { xdsAddress: '127.0.0.1:9090', istioNamespace: 'external-istiod' } },
    { flags: { xdsAddress: 'proxy:9090', istioNamespace: 'ns1' }, env: { ISTIOCTL_XDS_ADDRESS: '127.0.0.1:9090', ISTIOCTL_ISTIONAMESPACE: 'ns2' }, want: { xdsAddress: 'proxy:9090', istioNamespace: 'ns1' } },
    { flags: {}, env: { ISTIOCTL_XDS_ADDRESS: '' }, want: { xdsAddress: '' } },
    { flags: {}, env: { ISTIOCTL_ISTIONAMESPACE: '' }, want: { istioNamespace: 'istio-system' } },
    { flags: {}, env: { ISTIOCTL_INSECURE: 'true', ISTIOCTL_PLAINTEXT: '1', ISTIOCTL_XDS_PORT: '15010' }, want: { insecure: true, plaintext: true, xdsPort: 15010 } },
    { flags: { insecure: false }, env: { ISTIOCTL_INSECURE: 'true' }, want: { insecure: false } },
    { flags: {}, env: { ISTIOCTL_AUTHORITY: 'istiod.istio-system.svc', ISTIOCTL_CERT_DIR: '/certs' }, want: { authority: 'istiod.istio-system.svc', certDir: '/certs' } },
    { flags: { timeout: '1m30s' }, env: {}, want: { timeoutMs: 90_000 } },
    { flags: { xdsAddress: '[::1]:15012' }, env: {}, want: { xdsAddress: '[::1]:15012' } },
  ];
  for (const c of cases) {
    const got = resolveXdsConfig(c.flags, c.env);
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(got[k as keyof typeof got], v, `${JSON.stringify(c)}: ${k}`);
  }
});

test('resolveXdsConfig: usage errors', () => {
  const bad: { flags: XdsFlags; env: Env }[] = [
    { flags: { xdsAddress: 'a:1', xdsLabel: 'app=x' }, env: {} },
    { flags: {}, env: { ISTIOCTL_XDS_ADDRESS: 'no-port' } },
    { flags: {}, env: { ISTIOCTL_INSECURE: 'yes' } },
    { flags: { xdsPort: '70000' }, env: {} },
    { flags: { timeout: '5 minutes' }, env: {} },
    { flags: { plaintext: true, certDir: '/x' }, env: {} },
  ];
  for (const b of bad) assert.throws(() => resolveXdsConfig(b.flags, b.env), (e: unknown) => isIsthmusError(e, ErrorCodes.Usage), JSON.stringify(b));
});

test('small parsers', () => {
  assert.equal(parseBool('T', 'x'), true);
  assert.equal(parseBool('False', 'x'), false);
  assert.equal(preferExperimental({ ISTIOCTL_PREFER_EXPERIMENTAL: 'true' }), true);
  assert.equal(preferExperimental({}), false);
  assert.equal(expectedAuthority({ authority: '', revision: '', istioNamespace: 'external-istiod' }), 'istiod.external-istiod.svc');
  assert.equal(expectedAuthority({ authority: '', revision: 'canary', istioNamespace: 'istio-system' }), 'istiod-canary.istio-system.svc');
});
