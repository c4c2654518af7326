/**
 * The test bed's application images, built without a registry by scripts/testbed-images.sh and
 * imported into every node (`ctr images import`): the project itself (the control plane's image),
 * Istio's proxy (pilot-agent + Envoy) and the guide's samples. Each archive is rebuilt only when the
 * sha256 of its inputs changed, so `up --nodes` is fast when nothing did.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestbedErrorCodes, TestbedError } from './errors.ts';
import { VERSION } from '../../version.ts';
import { ensureEnvoy } from '../envoy/binary.ts';
import { ensureIstioProgram, pilotAgentBootstrapTemplate } from '../interop/istioctl.ts';
import { cacheRoot, runBuildScript } from './binaries.ts';

/** The hub every test-bed image is named under: `values.global.hub=localhost` selects them. */
export const IMAGE_HUB = 'localhost';
/** The proxy image's own tag: the Istio version pilot-agent was built from (the module's 1.31-dev). */
export const PROXY_TAG = '1.31-dev';
export const ISTHMUS_IMAGE = `${IMAGE_HUB}/isthmus:${VERSION}`;
/** Also tagged `:${VERSION}`, so an install with `values.global.tag=<version>` injects it. */
export const PROXY_IMAGE = `${IMAGE_HUB}/proxyv2:${PROXY_TAG}`;
export const HELLOWORLD_IMAGE = (v: 'v1' | 'v2'): string => `${IMAGE_HUB}/helloworld:${v}`;
export const SLEEP_IMAGE = `${IMAGE_HUB}/sleep:${VERSION}`;

export const IMAGE_NAMES = ['isthmus', 'proxyv2', 'helloworld-v1', 'helloworld-v2', 'sleep'] as const;
export type ImageName = typeof IMAGE_NAMES[number];

export function imagesDir(): string {
  return join(cacheRoot(), 'images');
}

/** The docker archive of one image. */
export function imageArchive(name: ImageName): string {
  return join(imagesDir(), `${name}.tar`);
}

/**
 * Builds (or finds up to date) the named images and returns their archives. Needs Envoy and
 * pilot-agent (fetched or built once per machine when missing), umoci and skopeo.
 */
export async function ensureImages(names: readonly ImageName[] = IMAGE_NAMES,
  log: (line: string) => void = (l) => { process.stderr.write(`${l}\n`); }): Promise<string[]> {
  const needProxy = names.includes('proxyv2');
  const envoy = needProxy ? await ensureEnvoy(log) : '-';
  const agent = needProxy ? await ensureIstioProgram('pilot-agent', log) : '-';
  const script = fileURLToPath(new URL('../../../scripts/testbed-images.sh', import.meta.url));
  const started = Date.now();
  const { code, output } = await runBuildScript(script,
    [imagesDir(), VERSION, PROXY_TAG, envoy, agent, needProxy ? pilotAgentBootstrapTemplate() : '-', ...names], 'images:', log);
  if (code !== 0) {
    throw new TestbedError(code === 5 ? TestbedErrorCodes.ToolMissing : TestbedErrorCodes.ImageBuild,
      `building the test-bed images (${names.join(', ')}) failed (exit ${code}). Last output:\n${output.slice(-30).join('\n')}`);
  }
  const archives = names.map(imageArchive);
  const missing = archives.filter((a) => !existsSync(a));
  if (missing.length > 0) throw new TestbedError(TestbedErrorCodes.ImageBuild, `the image build finished but ${missing.join(', ')} is missing`);
  log(`images: ${names.length} image(s) ready in ${((Date.now() - started) / 1000).toFixed(1)} s in ${imagesDir()}`);
  return archives;
}
