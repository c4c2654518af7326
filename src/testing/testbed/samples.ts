/**
 * The guide's samples as objects for the test bed's images: `helloworld` (Service on 5000 and one
 * Deployment per version) and `sleep` (a pod with curl). The images come from images.ts; nothing is
 * pulled (`imagePullPolicy: Never`).
 */
import { HELLOWORLD_IMAGE, SLEEP_IMAGE } from './images.ts';

type Obj = Record<string, unknown>;

export function helloworldService(ns: string): Obj {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'helloworld', namespace: ns, labels: { app: 'helloworld', service: 'helloworld' } },
    spec: { ports: [{ name: 'http', port: 5000 }], selector: { app: 'helloworld' } },
  };
}

/** `annotations` go on the pod template (e.g. sidecar settings). */
export function helloworldDeployment(ns: string, version: 'v1' | 'v2', annotations: Record<string, string> = {}): Obj {
  const labels = { app: 'helloworld', version };
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `helloworld-${version}`, namespace: ns, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [{
            name: 'helloworld', image: HELLOWORLD_IMAGE(version), imagePullPolicy: 'Never', ports: [{ containerPort: 5000 }],
            readinessProbe: { httpGet: { path: '/hello', port: 5000 }, periodSeconds: 2 },
          }],
        },
      },
    },
  };
}

export function sleepObjects(ns: string, annotations: Record<string, string> = {}): Obj[] {
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sleep', namespace: ns } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'sleep', namespace: ns, labels: { app: 'sleep' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'sleep' } },
        template: {
          metadata: { labels: { app: 'sleep' }, annotations },
          spec: {
            terminationGracePeriodSeconds: 5, serviceAccountName: 'sleep',
            containers: [{ name: 'sleep', image: SLEEP_IMAGE, imagePullPolicy: 'Never' }],
          },
        },
      },
    },
  ];
}
