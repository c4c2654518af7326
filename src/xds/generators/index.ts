/**
 * The generator registry (istiod's InitGenerators / findGenerator): keys are `<GENERATOR>/<typeUrl>`
 * for a client family announced in node metadata (`grpc`), `<proxyType>/<typeUrl>` for a proxy type
 * (`router`), and the bare `<typeUrl>` for Envoy sidecars. `findGenerator` tries them in that order.
 */
import type { TypeUrl } from '../../model/ids.ts';
import type { Proxy } from '../../model/proxy.ts';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL, LISTENER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL,
} from '../../model/type-urls.ts';
import { cdsGenerator } from './cds.ts';
import { edsGenerator } from './eds.ts';
import { grpcCdsGenerator } from './grpc/cds.ts';
import { grpcLdsGenerator } from './grpc/lds.ts';
import { grpcRdsGenerator } from './grpc/rds.ts';
import { gatewayLdsGenerator } from './lds-gateway.ts';
import { ldsGenerator } from './lds.ts';
import { rdsGenerator } from './rds.ts';
import type { ResourceGenerator } from './types.ts';

export type { ResourceGenerator } from './types.ts';

/** Generators of different message types; each carries its own codec, so callers need not know `T`. */
export type AnyGenerator = ResourceGenerator<unknown>;

function entries(): [string, AnyGenerator][] {
  return [
    [CLUSTER_TYPE_URL, cdsGenerator],
    [LISTENER_TYPE_URL, ldsGenerator],
    [ROUTE_CONFIGURATION_TYPE_URL, rdsGenerator],
    [CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, edsGenerator],
    [`router/${LISTENER_TYPE_URL}`, gatewayLdsGenerator],
    [`grpc/${LISTENER_TYPE_URL}`, grpcLdsGenerator],
    [`grpc/${ROUTE_CONFIGURATION_TYPE_URL}`, grpcRdsGenerator],
    [`grpc/${CLUSTER_TYPE_URL}`, grpcCdsGenerator],
    [`grpc/${CLUSTER_LOAD_ASSIGNMENT_TYPE_URL}`, edsGenerator],
  ];
}

export const GENERATORS: ReadonlyMap<string, AnyGenerator> = new Map(entries());

/** The generator for a proxy and type URL: `<GENERATOR>/<url>`, then `<type>/<url>`, then `<url>`. */
export function findGenerator(proxy: Pick<Proxy, 'generator' | 'type'>, typeUrl: TypeUrl | string,
  registry: ReadonlyMap<string, AnyGenerator> = GENERATORS): AnyGenerator | undefined {
  if (proxy.generator !== '') {
    const g = registry.get(`${proxy.generator}/${typeUrl}`);
    if (g !== undefined) return g;
  }
  return registry.get(`${proxy.type}/${typeUrl}`) ?? registry.get(typeUrl);
}
