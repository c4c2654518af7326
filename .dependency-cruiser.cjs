// The design's dependency rules between layers (docs/architecture.md, "Where each concern lives"),
// checked by `npm run deps` on every `npm test`. Each rule names the design rule it keeps; fix the
// import, not the rule. Type-only imports count: a layer that names another's types depends on it.

/** Test files and test-only modules: they may reach anything. */
const TESTS = '(^test/|^bench/|^scripts/|[.]test[.]ts$)';
/** Test-only code: harnesses, fixtures, checkers and the test bed all live under src/testing. */
const TEST_ONLY = '^src/testing/';
/** Product code: what `isthmus` runs (the binary's launcher and src, minus tests and src/testing). */
const PRODUCT = { path: '^(src|bin)/', pathNot: [TESTS, TEST_ONLY] };

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules import in one direction: a cycle makes both ends one module in disguise. ' +
        'Generated protocol types are exempt: recursive messages (Struct and Value, matcher trees) refer to each other.',
      from: { pathNot: '^src/proto/generated/' },
      to: { circular: true },
    },
    {
      name: 'model-imports-only-model',
      severity: 'error',
      comment: 'src/model is imported by everything and imports nothing else of ours.',
      from: { path: '^src/model/', pathNot: TESTS },
      to: { path: '^(src|test|bench|bin|scripts)/', pathNot: '^src/model/' },
    },
    {
      name: 'pki-imports-only-model',
      severity: 'error',
      comment: 'PKI primitives (keys, CSRs, signing) sit under the CA and authentication: they import only model.',
      from: { path: '^src/pki/', pathNot: TESTS },
      to: { path: '^(src|test|bench|bin|scripts)/', pathNot: '^src/(model|pki)/' },
    },
    {
      name: 'product-not-to-test-only',
      severity: 'error',
      comment: 'Test harnesses, fixtures and checkers are for tests; product code never imports them.',
      from: PRODUCT,
      to: { path: TEST_ONLY },
    },
    {
      name: 'servers-not-to-cli',
      severity: 'error',
      comment: 'Servers never import the CLI; what both need (the xDS client, signals) lives below them.',
      from: { path: '^src/', pathNot: ['^src/cli/', '^src/main[.]ts$', TESTS, TEST_ONLY] },
      to: { path: '^src/cli/' },
    },
    {
      name: 'cli-not-to-bootstrap',
      severity: 'error',
      comment: 'The CLI never imports the composition root of the control plane.',
      from: { path: '^src/cli/' },
      to: { path: '^src/bootstrap/' },
    },
    {
      name: 'bootstrap-is-the-root',
      severity: 'error',
      comment: 'src/bootstrap wires concrete classes; only the entry point (and tests) import it.',
      from: { path: '^src/', pathNot: ['^src/bootstrap/', '^src/main[.]ts$', TESTS, TEST_ONLY] },
      to: { path: '^src/bootstrap/' },
    },
    {
      name: 'xds-not-to-kube',
      severity: 'error',
      comment: 'Generators and the xDS protocol never reach Kubernetes.',
      from: { path: '^src/xds/' },
      to: { path: ['^src/kube/', '^src/registry/kube/', '@kubernetes/client-node'] },
    },
    {
      name: 'xds-protocol-no-mesh',
      severity: 'error',
      comment: 'The ADS state machine knows streams, nonces and versions, not the mesh or the server around it.',
      from: { path: '^src/xds/protocol/', pathNot: TESTS },
      to: { path: '^src/', pathNot: '^src/(model|proto|xds/protocol)/' },
    },
    {
      name: 'generators-are-pure',
      severity: 'error',
      comment: 'Generators turn a view into resources: no server, push, registry, config watcher or I/O layer.',
      from: { path: '^src/xds/generators/', pathNot: TESTS },
      // prepared.ts adapts generators to the server's seam (ResourceGenerator in src/xds/server/types.ts).
      to: { path: '^src/', pathNot: ['^src/(model|proto|xds/generators|xds/protocol)/', '^src/xds/server/types[.]ts$'] },
    },
    {
      name: 'xds-server-not-to-debug',
      severity: 'error',
      comment: 'The xDS server does not import the debug HTTP server.',
      from: { path: '^src/xds/' },
      to: { path: '^src/debug/' },
    },
    {
      name: 'ca-and-authn-not-to-xds-server',
      severity: 'error',
      comment: 'The CA and authentication do not depend on the xDS server (Identity lives in src/model).',
      from: { path: '^src/(ca|pki|security)/' },
      to: { path: '^src/xds/' },
    },
    {
      name: 'authn-not-to-ca',
      severity: 'error',
      comment: 'The CA uses authentication, never the reverse: no folder cycle between ca/ and security/.',
      from: { path: '^src/security/' },
      to: { path: '^src/ca/' },
    },
    {
      name: 'dataplane-not-to-control-plane',
      severity: 'error',
      comment: 'The data plane reads name rules from src/model, never the control plane\'s generators, server or registries.',
      from: { path: '^src/dataplane/' },
      to: { path: '^src/(xds/generators|xds/server|registry|config|push|bootstrap|ca|security|controllers)/' },
    },
    {
      name: 'registry-side-not-to-push-side',
      severity: 'error',
      comment: 'Registries and config reach the push side through one small interface (XdsUpdater), not its modules.',
      from: { path: '^src/(kube|registry|config|controllers)/', pathNot: TESTS },
      to: { path: '^src/(xds|push|ca|security|aggregator|dataplane|inject|operator|cli|bootstrap)/' },
    },
    {
      name: 'low-layers-stay-low',
      severity: 'error',
      comment: 'Logging, protobuf plumbing, push scheduling, process plumbing and the debug server depend on nothing above them.',
      from: { path: '^src/(observability|proto|push|debug|process)/', pathNot: TESTS },
      to: { path: '^src/', pathNot: '^src/(model|observability|proto|push|debug|process)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'Every import resolves.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'product-not-to-dev-dep',
      severity: 'error',
      comment: 'Product code runs without devDependencies.',
      from: PRODUCT,
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'no-undeclared-package',
      severity: 'error',
      comment: 'Every package imported is declared in package.json.',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    cache: false,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
