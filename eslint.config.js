// Type-aware lint: the worst control-plane bugs are unawaited promises and silent `any`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.testbed/', 'bin/', 'eslint.config.js', '.dependency-cruiser.cjs', 'scripts/*.mjs', 'src/proto/generated/'] },
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
  // The dependency rules between layers (model imports nothing, xDS never reaches kube, the data plane
  // never imports generators, the CLI never imports bootstrap, ...) live in .dependency-cruiser.cjs.
);
