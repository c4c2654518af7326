/** xDS metrics under istiod's names, in a registry the composition root owns. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface XdsMetrics {
  readonly connections: Gauge;
  readonly pushes: Counter<'type'>;
  readonly pushErrors: Counter<'type'>;
  readonly rejects: Counter<'type'>;
  readonly convergence: Histogram;
  readonly pushTime: Histogram<'type'>;
  /** Streams ended because their pending responses made no progress for the send timeout (istiod's metric name). */
  readonly writeTimeouts: Counter;
  /** Streams refused before serving: authentication, stream caps, bad node (`reason`). */
  readonly streamsRefused: Counter<'reason'>;
}

export function xdsMetrics(registry: Registry): XdsMetrics {
  const buckets = [0.01, 0.1, 0.5, 1, 3, 5, 10, 20, 30];
  return {
    connections: new Gauge({ name: 'pilot_xds', help: 'Number of endpoints connected to this pilot using XDS.', registers: [registry] }),
    pushes: new Counter({ name: 'pilot_xds_pushes', help: 'Pilot build and send errors for lds, rds, cds and eds.', labelNames: ['type'], registers: [registry] }),
    pushErrors: new Counter({ name: 'pilot_xds_push_errors', help: 'Number of errors (timeouts) pushing to sidecars.', labelNames: ['type'], registers: [registry] }),
    rejects: new Counter({ name: 'pilot_total_xds_rejects', help: 'Total number of XDS responses from pilot rejected by proxy.', labelNames: ['type'], registers: [registry] }),
    convergence: new Histogram({ name: 'pilot_proxy_convergence_time', help: 'Delay in seconds between config change and a proxy receiving all required configuration.', buckets, registers: [registry] }),
    writeTimeouts: new Counter({ name: 'pilot_xds_write_timeout', help: 'Pilot XDS response write timeouts.', registers: [registry] }),
    streamsRefused: new Counter({ name: 'isthmus_xds_stream_refused_count', help: 'xDS streams refused before being served, by reason.', labelNames: ['reason'], registers: [registry] }),
    pushTime: new Histogram({ name: 'pilot_xds_push_time', help: 'Total time in seconds Pilot takes to push lds, rds, cds and eds.', labelNames: ['type'], buckets, registers: [registry] }),
  };
}
