/**
 * Istio's real pilot-agent for tests that run Istio's data plane against Isthmus, built once per
 * machine by scripts/istio-build.sh from the istio.io/istio module at istioctl's pinned
 * version (Go builds only this third-party test binary). Istio's Envoy bootstrap template is copied
 * from the module beside it.
 */
import { ensureIstioProgram, pilotAgentBootstrapTemplate } from '../interop/istioctl.ts';

/** Returns `{ bin, bootstrapTemplate }`, building pilot-agent (and copying its template) when not cached. */
export async function ensurePilotAgent(log: (line: string) => void = (l) => { process.stderr.write(`${l}\n`); }): Promise<{ bin: string; bootstrapTemplate: string }> {
  const bin = await ensureIstioProgram('pilot-agent', log);
  return { bin, bootstrapTemplate: pilotAgentBootstrapTemplate() };
}
