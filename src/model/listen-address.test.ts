import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListenAddress } from './listen-address.ts';

test('listen addresses in the forms istiod accepts', () => {
  const cases: [string, { host: string; port: number }][] = [
    [':15010', { host: '0.0.0.0', port: 15010 }],
    ['15010', { host: '0.0.0.0', port: 15010 }],
    ['127.0.0.2:8080', { host: '127.0.0.2', port: 8080 }],
    ['[::1]:15012', { host: '::1', port: 15012 }],
    [' localhost:0 ', { host: 'localhost', port: 0 }],
  ];
  for (const [input, want] of cases) {
    const got = parseListenAddress(input);
    console.log(`${JSON.stringify(input)} -> ${got.host} ${got.port}`);
    assert.deepEqual(got, want);
  }
  assert.deepEqual(parseListenAddress(':9090', '127.0.0.1'), { host: '127.0.0.1', port: 9090 });
});

test('a listen address without a valid port is refused with the address in the message', () => {
  for (const bad of ['', 'localhost', ':65536', 'host:port', '1.2.3.4:-1']) {
    assert.throws(() => parseListenAddress(bad), (err: unknown) => err instanceof Error && err.message.includes(JSON.stringify(bad)), bad);
  }
});
