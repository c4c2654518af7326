import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { IstioCertificateRequest, IstioCertificateRequest__Output, IstioCertificateResponse } from './types.ts';
import { protoRoot } from './loader.ts';
import {
  aggregatedDiscoveryService, clientStatusDiscoveryService, istioCertificateService, ServiceNames,
} from './services.ts';
import { structFromJson, structString } from './wkt.ts';

test('hand-built service definitions match the services in the schema', () => {
  interface MethodShape { path: string; requestStream: boolean; responseStream: boolean; requestDeserialize: (b: Buffer) => unknown }
  const services: [string, Record<string, MethodShape>][] = [
    [ServiceNames.ads, aggregatedDiscoveryService],
    [ServiceNames.csds, clientStatusDiscoveryService],
    [ServiceNames.ca, istioCertificateService],
  ];
  for (const [name, def] of services) {
    const svc = protoRoot().lookupService(name);
    assert.deepStrictEqual(Object.keys(def).sort(), Object.keys(svc.methods).sort(), name);
    for (const [methodName, m] of Object.entries(svc.methods)) {
      const ours = def[methodName];
      assert.ok(ours);
      assert.equal(ours.path, `/${name}/${methodName}`);
      assert.equal(ours.requestStream, m.requestStream === true, `${methodName} request stream`);
      assert.equal(ours.responseStream, m.responseStream === true, `${methodName} response stream`);
      m.resolve();
      assert.ok(m.resolvedRequestType instanceof protobuf.Type && m.resolvedResponseType instanceof protobuf.Type);
      // The serializers use the codec of the schema's request/response type.
      const req = m.resolvedRequestType.fromObject({});
      assert.deepStrictEqual(ours.requestDeserialize(Buffer.alloc(0)), m.resolvedRequestType.toObject(req));
    }
  }
});

test('a grpc-js server and client exchange a CreateCertificate call through our codecs', async (t) => {
  const server = new grpc.Server();
  server.addService(istioCertificateService, {
    CreateCertificate(
      call: grpc.ServerUnaryCall<IstioCertificateRequest__Output, IstioCertificateResponse>,
      callback: grpc.sendUnaryData<IstioCertificateResponse>,
    ) {
      const signer = structString(call.request.metadata, 'CertSigner') ?? 'default';
      callback(null, { certChain: [`leaf for ${call.request.csr ?? ''} by ${signer}`, `valid ${call.request.validityDuration ?? '0'}s`, 'root'] });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => { if (err) reject(err); else resolve(p); });
  });
  t.after(() => { server.forceShutdown(); });
  const Client = grpc.makeGenericClientConstructor(istioCertificateService, ServiceNames.ca);
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.after(() => { client.close(); });
  const request: IstioCertificateRequest = { csr: 'CSR', validityDuration: '3600', metadata: structFromJson({ CertSigner: 'signer1' }) };
  const response = await new Promise<IstioCertificateResponse>((resolve, reject) => {
    client.makeUnaryRequest(
      istioCertificateService.CreateCertificate.path,
      istioCertificateService.CreateCertificate.requestSerialize,
      istioCertificateService.CreateCertificate.responseDeserialize,
      request,
      (err: grpc.ServiceError | null, value?: IstioCertificateResponse) => { if (err) reject(err); else if (value) resolve(value); else reject(new Error('no response')); },
    );
  });
  assert.deepStrictEqual(response, { certChain: ['leaf for CSR by signer1', 'valid 3600s', 'root'] });
});
