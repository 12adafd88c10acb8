// Makes the lab's kernel upstream from Debian's linux-source-6.1 tarball
// (src/demo/kernel-history.ts), as `stacklab up` and `demo --kernel` do
// when the example lab's .upstreams/linux is missing:
//
//   npx node examples/kernel/make-history.ts DIR [--tarball FILE]
import { makeKernelHistory } from '../../src/demo/kernel-history.ts';

{
  const args = process.argv.slice(2);
  const at = args.indexOf('--tarball');
  const tarball = at >= 0 ? args.splice(at, 2)[1] : undefined;
  if (args.length !== 1) {
    console.error('usage: node examples/kernel/make-history.ts DIR [--tarball FILE]');
    process.exit(2);
  }
  const started = performance.now();
  const h = await makeKernelHistory(args[0]!, tarball ? { tarball } : {});
  console.log(JSON.stringify({ dir: h.dir, version: h.version, head: h.head, tags: h.tags, commits: h.commits.length, seconds: Number(((performance.now() - started) / 1000).toFixed(1)) }, null, 2));
}
