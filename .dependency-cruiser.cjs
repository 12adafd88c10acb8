// Import rules `npm run lint` checks (dependency-cruiser): no cycles, and
// imports point down the layers of docs/ARCHITECTURE.md — never up. Tests,
// benchmarks and examples are leaves: src/ imports none of them, tests do not
// import benchmarks, and benchmarks may only borrow test/support.
const LAYERS = [
  ['cli'],
  ['server'],
  ['testbox'],
  ['pkgbuild', 'bisect-run'],
  ['scheduler'],
  ['store'],
  ['stack', 'artifacts', 'jobfile', 'bisect', 'runtime', 'demo', 'api'],
  ['model', 'util', 'lab\\.ts', 'config\\.ts', 'errors\\.ts'],
];

const dir = (names) => `^src/(${names.join('|')})(/|$)`;

/** Each layer may import only the layers below it (and itself). */
const upward = LAYERS.slice(1).map((layer, i) => ({
  name: `no-import-up-from-${layer[0].replace(/\\\.ts$/, '')}`,
  comment: `${layer.join(', ')} must not import the layers above it (${LAYERS.slice(0, i + 1).flat().join(', ')})`,
  severity: 'error',
  from: { path: dir(layer) },
  to: { path: dir(LAYERS.slice(0, i + 1).flat()) },
}));

/** Within the bottom layer, the leaves stay leaves. */
const bottom = [
  { name: 'errors-is-a-leaf', severity: 'error', from: { path: '^src/errors\\.ts$' }, to: { path: '^src/' } },
  { name: 'util-is-a-leaf', severity: 'error', from: { path: '^src/util/' }, to: { path: '^src/(?!util/)' } },
];

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'import cycles make the house hard to change', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
    ...upward,
    ...bottom,
    { name: 'src-imports-no-tests-bench-examples', severity: 'error', from: { path: '^src/' }, to: { path: '^(test|bench|examples)/' } },
    { name: 'tests-import-no-bench', severity: 'error', from: { path: '^test/' }, to: { path: '^(bench|examples)/' } },
    { name: 'bench-borrows-only-test-support', severity: 'error', from: { path: '^bench/' }, to: { path: '^(test/(?!support/)|examples/)' } },
    { name: 'examples-import-no-tests-bench', severity: 'error', from: { path: '^examples/' }, to: { path: '^(test|bench)/' } },
    { name: 'no-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'], exportsFields: ['exports'], conditionNames: ['import', 'node', 'default'] },
  },
};
