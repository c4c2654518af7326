/**
 * The webhook path (docs/istio-compat.md §12.1): `/inject` and everything below `/inject/`; the rest is
 * key/value pairs (`/inject/cluster/c2/net/n2`), `--slash--` in a value stands for `/`, an odd last
 * key is ignored. `cluster` → ISTIO_META_CLUSTER_ID, `net` → ISTIO_META_NETWORK, any other key is an
 * env var named by the key upper-cased. The old `/inject/:ENV:cluster=c2:ENV:net=n2` form is read
 * too. Pure.
 */
export interface InjectPath {
  readonly clusterId?: string;
  readonly network?: string;
  /** Other env vars from the path, sorted by name. */
  readonly env: readonly { readonly name: string; readonly value: string }[];
  readonly warnings: readonly string[];
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const MAX_PATH = 2048;

/** undefined when the path is not an injection path. */
export function parseInjectPath(rawPath: string): InjectPath | undefined {
  const path = rawPath.split('?')[0] ?? '';
  if (path.length > MAX_PATH) return undefined;
  if (path !== '/inject' && !path.startsWith('/inject/') && !path.startsWith('/inject:')) return undefined;
  let rest = path.slice('/inject'.length).replace(/\/+$/, '').replace(/^\//, '');
  const vars = new Map<string, string>();
  const warnings: string[] = [];
  let decoded: string;
  try { decoded = decodeURIComponent(rest); } catch { decoded = rest; }
  rest = decoded;
  if (rest.startsWith(':ENV:')) {
    for (const part of rest.split(':ENV:').slice(1)) {
      const eq = part.indexOf('=');
      if (eq <= 0) { warnings.push(`ignoring ${JSON.stringify(part)}: not key=value`); continue; }
      vars.set(part.slice(0, eq), part.slice(eq + 1));
    }
  } else if (rest !== '') {
    const parts = rest.split('/');
    if (parts.length % 2 === 1) warnings.push(`ignoring the last key ${JSON.stringify(parts[parts.length - 1])}: it has no value`);
    for (let i = 0; i + 1 < parts.length; i += 2) vars.set(parts[i] ?? '', (parts[i + 1] ?? '').replaceAll('--slash--', '/'));
  }
  let clusterId: string | undefined;
  let network: string | undefined;
  const env: { name: string; value: string }[] = [];
  for (const [k, v] of vars) {
    if (k === 'cluster') clusterId = v;
    else if (k === 'net') network = v;
    else {
      const name = k.toUpperCase();
      if (!ENV_NAME.test(name)) { warnings.push(`ignoring path key ${JSON.stringify(k)}: not a valid env var name`); continue; }
      env.push({ name, value: v });
    }
  }
  env.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ...(clusterId === undefined ? {} : { clusterId }), ...(network === undefined ? {} : { network }), env, warnings };
}
