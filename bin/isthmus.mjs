#!/usr/bin/env node
// Launcher: runs the built CLI when present, else the TypeScript sources (Node >= 22.18 strips types).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/src/main.js', import.meta.url));
const entry = existsSync(built) ? built : fileURLToPath(new URL('../src/main.ts', import.meta.url));
const { main } = await import(entry);
const code = await main(process.argv.slice(2));
process.exitCode = code;
// A failed command (e.g. a server whose port is taken) must not linger on the handles its other parts
// opened: give stderr a moment to drain, then exit with the code.
if (code !== 0) setTimeout(() => process.exit(code), 200);
