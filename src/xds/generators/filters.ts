/** Network and HTTP filter configs shared by the listener generators. */
import { httpConnectionManagerCodec, packAny, routerCodec, tcpProxyCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { EXT, originalDstCodec, tlsInspectorCodec } from './extra-codecs.ts';
import { ADS_CONFIG } from './tls.ts';

/** The terminal HTTP filter; Envoy and grpc-js-xds both require it last. */
export function routerFilter(): T.HttpFilter {
  return { name: EXT.router, typedConfig: packAny(routerCodec, {}) };
}

/** An HttpConnectionManager fetching route config `routeName` over ADS. */
export function rdsConnectionManager(statPrefix: string, routeName: string): T.HttpConnectionManager {
  return {
    statPrefix,
    rds: { configSource: ADS_CONFIG, routeConfigName: routeName },
    httpFilters: [routerFilter()],
  };
}

export function hcmFilter(hcm: T.HttpConnectionManager): T.Filter {
  return { name: EXT.httpConnectionManager, typedConfig: packAny(httpConnectionManagerCodec, hcm) };
}

export function tcpProxyFilter(cluster: string, statPrefix: string = cluster): T.Filter {
  return { name: EXT.tcpProxy, typedConfig: packAny(tcpProxyCodec, { statPrefix, cluster }) };
}

export function tlsInspectorFilter(): T.Filter {
  return { name: EXT.tlsInspector, typedConfig: packAny(tlsInspectorCodec, {}) };
}

export function originalDstFilter(): T.Filter {
  return { name: EXT.originalDst, typedConfig: packAny(originalDstCodec, {}) };
}

export function socketAddress(address: string, port: number): T.Address {
  return { socketAddress: { address, portValue: port } };
}
