// Type-aware lint: the worst control-plane bugs are unawaited promises and silent `any`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.testbed/', 'bin/', 'eslint.config.js', 'scripts/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }],
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='test'][callee.property.name='only']", message: 'no .only in committed tests' },
        { selector: "CallExpression[callee.object.name='it'][callee.property.name='only']", message: 'no .only in committed tests' },
      ],
    },
  },
  {
    // The model is imported by everything and imports nothing of ours.
    files: ['src/model/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*', '!../model/*'], message: 'src/model imports nothing from the rest of the project' }] }],
    },
  },
  {
    // Generators and the xDS protocol never reach Kubernetes.
    files: ['src/xds/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/kube/**', '@kubernetes/client-node'], message: 'xDS code never imports kube' }] }],
    },
  },
  {
    // The data plane reads Istio's name rules from src/model, never the control plane's generators.
    files: ['src/dataplane/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/xds/generators/**'], message: 'the data plane never imports generators (cluster names live in src/model/cluster-names.ts)' }] }],
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/bootstrap/**'], message: 'the CLI never imports bootstrap' }] }],
    },
  },
);
