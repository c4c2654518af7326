/** IstioOperator input to rendered objects: the whole pure pipeline in one call. */
import { resolve, type Effective } from './effective.ts';
import { loadIstioOperator, type IopInput } from './iop.ts';
import { render } from './render/index.ts';
import type { Rendered } from './render/types.ts';

export interface InstallPlan {
  readonly effective: Effective;
  readonly rendered: readonly Rendered[];
}

export function planInstall(inputs: readonly IopInput[], sets: readonly string[] = []): InstallPlan {
  const effective = resolve(loadIstioOperator(inputs, sets));
  return { effective, rendered: render(effective) };
}
