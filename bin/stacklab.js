#!/usr/bin/env node
// Entry point of the `stacklab` command. The sources are TypeScript run by
// Node's own type stripping, which needs Node >= 22.18; say so plainly on
// an older Node instead of failing with a syntax error.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `stacklab needs Node.js >= 22.18 (this is ${process.version}). ` +
      'Run it through npm (npx stacklab, npm start), which uses the Node 24 pinned in devDependencies.',
  );
  process.exit(2);
}
const { main, exitQuietlyOnEpipe } = await import('../src/cli/main.ts');
exitQuietlyOnEpipe(process.stdout);
exitQuietlyOnEpipe(process.stderr);
process.exitCode = await main(process.argv.slice(2));
