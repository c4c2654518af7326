#!/usr/bin/env node
// Launcher. A checkout runs its TypeScript sources (Node >= 22.18 strips the types as it loads
// them). The control-plane image ships what `npm run build` compiles into dist/ instead (no src/),
// and runs its one-file bundle, dist/src/bundle/main.js: stripping types at every start costs about
// 0.3 s of CPU and 40 MB of memory, and loading ~700 compiled modules one by one another 0.25 s.
// ISTHMUS_RUN_BUILT=1 runs the bundle from a checkout too (the benchmarks measure what the image runs).
// A dist/ without the bundle is a stale build: this stops and says so rather than run something else.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/src/bundle/main.js', import.meta.url));
const source = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const wantBuilt = process.env.ISTHMUS_RUN_BUILT === '1' || !existsSync(source);
if (wantBuilt && !existsSync(built)) {
  process.stderr.write(`isthmus: ${built} does not exist: run \`npm run build\` first\n`);
  process.exit(2);
}
const { main } = await import(wantBuilt ? built : source);
const code = await main(process.argv.slice(2));
process.exitCode = code;
// A failed command (e.g. a server whose port is taken) must not linger on the handles its other parts
// opened: give stderr a moment to drain, then exit with the code.
if (code !== 0) setTimeout(() => process.exit(code), 200);
