// Fails early, with the fix, when a script is run on a Node.js older than the project needs.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`isthmus needs Node.js >= 22.18 (running ${process.version} from ${process.execPath}).\n` +
    'Run scripts through npm (`npm test`, `npm run testbed`): `npm ci` installs Node 22 into node_modules/.bin.');
  process.exit(1);
}
