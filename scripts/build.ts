/**
 * `npm run build` (and the control-plane image): compiles src/ (without tests and test-only code)
 * into OUT_DIR/src with tsconfig.build.json, then writes OUT_DIR/proto-schema.json, the protobuf
 * schema the compiled loader reads instead of parsing the `.proto` files at every start.
 *
 *   node scripts/build.ts [OUT_DIR]   (default: dist)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { schemaJsonFromProtoFiles } from '../src/proto/loader.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = resolve(process.argv[2] ?? join(root, 'dist'));
const started = Date.now();
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { cwd: root, stdio: 'inherit' });
writeFileSync(join(out, 'proto-schema.json'), schemaJsonFromProtoFiles());
process.stdout.write(`build: ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
