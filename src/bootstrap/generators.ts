/** The generator registry the control plane serves with. */
import { generatorLookup } from '../xds/generators/prepared.ts';
import type { GeneratorLookup } from '../xds/server/types.ts';

export function defaultGenerators(): GeneratorLookup {
  return generatorLookup();
}
