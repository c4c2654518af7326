/**
 * `npm run build` (and the control-plane image): compiles src/ (without tests and test-only code)
 * into OUT_DIR/src with tsconfig.build.json, writes OUT_DIR/proto-schema.json, the protobuf schema
 * the compiled loader reads instead of parsing the `.proto` files at every start, then bundles the
 * compiled entry into one file, OUT_DIR/src/bundle/main.js, which bin/isthmus.mjs runs: loading one
 * file instead of about 700 modules saves about a quarter of a second of CPU at every start.
 *
 *   node scripts/build.ts [OUT_DIR]   (default: dist)
 *
 * The bundle sits two directories below OUT_DIR, as every compiled module does, so the paths the
 * proto loader computes from `import.meta.url` (OUT_DIR/proto-schema.json, the project's proto/)
 * resolve the same from it. @kubernetes/client-node stays outside (loaded from node_modules, only
 * for kubeconfigs that use exec or auth-provider credentials): it would add 15 MB of code that
 * almost no start needs. The other dependencies are inside; some are CommonJS and call `require`,
 * which an ES module does not have, so the banner makes one. A few CommonJS modules find files of
 * their package through `__dirname` (@grpc/grpc-js's channelz and ORCA protos), which an ES module
 * does not have either: those get a `__dirname` that names their file in the node_modules the
 * bundle resolves packages from (found at run time, so the image's layout need not match the build's).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { schemaJsonFromProtoFiles } from '../src/proto/loader.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = resolve(process.argv[2] ?? join(root, 'dist'));
const started = Date.now();
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { cwd: root, stdio: 'inherit' });
writeFileSync(join(out, 'proto-schema.json'), schemaJsonFromProtoFiles());

const nodeModules = realpathSync(join(root, 'node_modules'));
/** Gives each bundled CommonJS module that mentions `__dirname`/`__filename` its own, as Node would. */
const dirnameOfDependencies: Plugin = {
  name: 'isthmus-dependency-dirname',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.c?js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!/\b__(?:dirname|filename)\b/.test(text)) return undefined;
      const rel = relative(nodeModules, args.path);
      if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`build: ${args.path} uses __dirname and is not under ${nodeModules}`);
      const header = `var __filename = __isthmusDependencyFile(${JSON.stringify(rel.split(sep).join('/'))}), __dirname = __isthmusDirname(__filename);\n`;
      return { contents: header + text, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};
/**
 * Runs first in the bundle: `require` for CommonJS dependencies, and the node_modules directory the
 * bundle resolves packages from (the nearest one up from it, as Node looks), for `__dirname`.
 */
const banner = [
  "import { createRequire as __isthmusCreateRequire } from 'node:module';",
  "import { existsSync as __isthmusExists } from 'node:fs';",
  "import { dirname as __isthmusDirname, join as __isthmusJoin } from 'node:path';",
  "import { fileURLToPath as __isthmusPath } from 'node:url';",
  'const require = __isthmusCreateRequire(import.meta.url);',
  'let __isthmusNodeModules;',
  'function __isthmusDependencyFile(rel) {',
  '  if (__isthmusNodeModules === undefined) {',
  '    let dir = __isthmusDirname(__isthmusPath(import.meta.url));',
  "    while (!__isthmusExists(__isthmusJoin(dir, 'node_modules')) && __isthmusDirname(dir) !== dir) dir = __isthmusDirname(dir);",
  "    __isthmusNodeModules = __isthmusJoin(dir, 'node_modules');",
  '  }',
  '  return __isthmusJoin(__isthmusNodeModules, rel);',
  '}',
].join('\n');
const bundled = await build({
  entryPoints: [join(out, 'src/main.js')],
  outfile: join(out, 'src/bundle/main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  external: ['@kubernetes/client-node'],
  // Packages come from this project's node_modules wherever OUT_DIR is (the image builds into a
  // directory of its own, with no node_modules above it).
  nodePaths: [nodeModules],
  banner: { js: banner },
  plugins: [dirnameOfDependencies],
  logLevel: 'warning',
});
if (bundled.errors.length > 0) throw new Error(`build: bundling ${join(out, 'src/main.js')} failed`);
process.stdout.write(`build: ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
