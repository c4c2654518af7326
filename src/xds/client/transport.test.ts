import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { ErrorCodes } from '../../model/errors.ts';
import { classifyXdsError } from './exchange.ts';
import { hostOf, transportFor } from './transport.ts';

test('hostOf: the host of an address, IPv6 without brackets', () => {
  assert.equal(hostOf('[::1]:9090'), '::1');
  assert.equal(hostOf('127.0.0.1:9090'), '127.0.0.1');
});

test('transportFor: istioctl\'s modes and who sends a token', () => {
  const base = { plaintext: false, certDir: '', authority: '', insecure: false };
  const cases: [Parameters<typeof transportFor>[0], string, boolean][] = [
    [base, 'tls-insecure', true],
    [{ ...base, insecure: true, authority: 'x' }, 'tls-insecure', true],
    [{ ...base, authority: 'istiod.istio-system.svc' }, 'tls-verify', true],
    [{ ...base, plaintext: true }, 'plaintext', false],
  ];
  for (const [o, mode, token] of cases) {
    const t = transportFor(o, '127.0.0.1:15012');
    assert.equal(t.mode, mode);
    assert.equal(t.sendsToken, token);
  }
  assert.throws(() => transportFor({ ...base, certDir: '/nonexistent' }, 'a:1'), /cert-dir/);
});

test('classifyXdsError: what a failed exchange means', () => {
  const cases: [status, string, string, string][] = [
    [status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1', ErrorCodes.XdsUnreachable, 'cannot reach'],
    [status.UNAVAILABLE, 'No connection established. Last error: Error: self-signed certificate', ErrorCodes.XdsTls, 'TLS handshake'],
    [status.UNAVAILABLE, 'Error: 80E8...:error:0A00010B:SSL routines::wrong version number', ErrorCodes.XdsTls, 'plaintext'],
    [status.UNAUTHENTICATED, 'authentication failure', ErrorCodes.XdsRefused, 'refused'],
    [status.PERMISSION_DENIED, 'nope', ErrorCodes.XdsRefused, 'PERMISSION_DENIED'],
    [status.DEADLINE_EXCEEDED, 'Deadline exceeded after 1.001s,LB pick: 1.0s', ErrorCodes.XdsUnreachable, 'within 1000 ms'],
    [status.DEADLINE_EXCEEDED, 'Deadline exceeded after 1.001s', ErrorCodes.XdsFailed, 'no answer'],
    [status.NOT_FOUND, 'Proxy not connected', ErrorCodes.XdsFailed, 'NOT_FOUND'],
  ];
  for (const [code, details, want, text] of cases) {
    const e = classifyXdsError({ code, details }, '127.0.0.1:1', 'tls-insecure', 1000);
    assert.equal(e.code, want, details);
    assert.ok(e.message.includes(text), `${e.message} should mention ${text}`);
  }
});
