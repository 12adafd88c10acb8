// Makes the demo package's upstream (src/demo/upstream.ts) in DIR, as
// `stacklab up` does when the example lab's .upstreams/demo is missing:
//
//   npx node examples/demo/upstream.ts DIR
import { makeDemoUpstream } from '../../src/demo/upstream.ts';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node examples/demo/upstream.ts DIR');
  process.exit(2);
}
const h = await makeDemoUpstream(dir);
console.log(JSON.stringify({ ...h, commits: h.commits.length }, null, 2));
