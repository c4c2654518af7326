/**
 * Which push each change asks for: registry writes (through the store's `XdsUpdater`) and Istio
 * config changes become PushRequests for the xDS server. The control plane and the in-process test
 * harness (src/testing/fake-discovery.ts) both wire changes to pushes through this one place.
 */
import { systemClock, type Clock } from '../model/clock.ts';
import { endpointPush, fullPush, servicePush, type PushRequest } from '../push/request.ts';
import type { XdsUpdater } from '../registry/shards.ts';

export interface PushTriggers {
  /** What the registries' store calls. */
  readonly registry: XdsUpdater;
  /** What the Istio config watcher calls on any change of its objects. */
  readonly configChanged: () => void;
}

export function pushTriggers(push: (req: PushRequest) => void, clock: Pick<Clock, 'now'> = systemClock): PushTriggers {
  return {
    registry: {
      serviceChanged: (h) => { push(servicePush([h], clock.now())); },
      endpointsChanged: (h) => { push(endpointPush([h], clock.now())); },
      networksChanged: () => { push(fullPush('networks', clock.now())); },
    },
    configChanged: () => { push(fullPush('config', clock.now())); },
  };
}
