/** Turning failed Kubernetes calls into messages that say what to do about them. */
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';
import { KubeApiError, type KubeClient } from '../kube/client.ts';

function rootCause(err: unknown): string {
  let cur: unknown = err;
  for (let i = 0; i < 5 && cur instanceof Error && cur.cause !== undefined; i++) cur = cur.cause;
  return errorMessage(cur);
}

/**
 * An IsthmusError for a failed call made while doing `what` (e.g. `apply ServiceAccount x/y`):
 * unreachable server, rejected credentials or missing permission each get their own code.
 */
export function explainKubeError(err: unknown, client: KubeClient, what: string): IsthmusError {
  if (err instanceof IsthmusError) return err;
  const ctx = `context ${JSON.stringify(client.contextName)} (${client.server})`;
  if (err instanceof KubeApiError) {
    if (err.status === 401) return new IsthmusError(ErrorCodes.KubeForbidden, `${what}: the API server of ${ctx} rejected the credentials (401 Unauthorized): ${err.message}`, { cause: err });
    // 403 is also what admission (quota, policies) answers; only RBAC denials say "cannot <verb>".
    if (err.status === 403 && / cannot [a-z]+ resource /.test(err.message)) return new IsthmusError(ErrorCodes.KubeForbidden, `${what}: permission denied for the user of ${ctx}: ${err.message}`, { cause: err });
    return new IsthmusError(ErrorCodes.ApplyFailed, `${what}: ${err.message}`, { cause: err });
  }
  return new IsthmusError(ErrorCodes.KubeUnreachable, `${what}: cannot reach the API server of ${ctx}: ${rootCause(err)}`, { cause: err });
}

/** GET /version: fails fast with KubeUnreachable / KubeForbidden before any work is done. */
export async function checkReachable(client: KubeClient): Promise<string> {
  try {
    const v = await client.request<{ gitVersion?: string }>('GET', '/version');
    return v.gitVersion ?? 'unknown';
  } catch (err) {
    throw explainKubeError(err, client, 'connecting');
  }
}
