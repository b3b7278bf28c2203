// ESLint for TypeScript (src/, test/) and the plain JavaScript beside it (bench/, test/tools/):
// bugs with typescript-eslint's type-checked rules, and the house layout with @stylistic's, which
// `npm run format` (eslint --fix) applies. npm test runs it first (`npm run lint`).
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** The layout the code already has: 2 spaces, single quotes, semicolons, trailing commas on multi-line lists. */
const layout = {
  // a return type on a line of its own keeps its indent (src/engine/engine.ts's answers()), and so
  // do arguments wrapped by hand after a first one that spans lines (src/http/listener.ts)
  '@stylistic/indent': ['error', 2, {
    SwitchCase: 1, CallExpression: { arguments: 'off' }, ignoredNodes: ['FunctionDeclaration > TSTypeAnnotation'],
  }],
  // a string with quotes in it may stay a template literal
  '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: 'avoidEscape' }],
  '@stylistic/semi': ['error', 'always'],
  '@stylistic/semi-spacing': 'error',
  '@stylistic/comma-dangle': ['error', 'always-multiline'],
  '@stylistic/comma-spacing': 'error',
  '@stylistic/arrow-parens': ['error', 'always'],
  '@stylistic/arrow-spacing': 'error',
  '@stylistic/block-spacing': 'error',
  '@stylistic/brace-style': ['error', '1tbs', { allowSingleLine: true }],
  '@stylistic/eol-last': 'error',
  '@stylistic/key-spacing': 'error',
  '@stylistic/keyword-spacing': 'error',
  '@stylistic/member-delimiter-style': 'error',
  '@stylistic/no-multi-spaces': ['error', { ignoreEOLComments: true }],
  '@stylistic/no-multiple-empty-lines': ['error', { max: 1, maxEOF: 0 }],
  '@stylistic/no-trailing-spaces': 'error',
  '@stylistic/no-tabs': 'error',
  '@stylistic/object-curly-spacing': ['error', 'always'],
  '@stylistic/array-bracket-spacing': ['error', 'never'],
  '@stylistic/computed-property-spacing': ['error', 'never'],
  '@stylistic/space-before-blocks': 'error',
  '@stylistic/space-before-function-paren': ['error', { anonymous: 'always', named: 'never', asyncArrow: 'always' }],
  '@stylistic/space-in-parens': 'error',
  '@stylistic/space-infix-ops': 'error',
  '@stylistic/space-unary-ops': 'error',
  '@stylistic/type-annotation-spacing': 'error',
  '@stylistic/type-generic-spacing': 'error',
  '@stylistic/template-curly-spacing': 'error',
  '@stylistic/quote-props': ['error', 'as-needed'],
  '@stylistic/spaced-comment': ['error', 'always', { markers: ['/'] }],
  '@stylistic/lines-between-class-members': ['error', 'always', { exceptAfterSingleLine: true }],
  '@stylistic/padded-blocks': ['error', 'never'],
  '@stylistic/new-parens': 'error',
  '@stylistic/no-extra-semi': 'error',
  '@stylistic/function-call-spacing': 'error',
  '@stylistic/generator-star-spacing': ['error', { before: false, after: true }],
  '@stylistic/rest-spread-spacing': 'error',
  '@stylistic/dot-location': ['error', 'property'],
  '@stylistic/no-whitespace-before-property': 'error',
  // --fix cannot wrap a line, so this only stops runaway ones (strings and regexes may run on); the
  // code wraps by judgement between 120 and 160 columns
  '@stylistic/max-len': ['error', {
    code: 200, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true,
  }],
};

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'public/', 'native/', 'ext/', 'docker/', 'deploy/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@stylistic': stylistic },
    rules: {
      ...layout,
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/consistent-type-exports': 'error',
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/consistent-type-definitions': ['error', 'interface'],
      // node:test's test() returns a promise the runner itself awaits
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
      }],
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // an async function that awaits nothing (yet) keeps the promise its callers await
      '@typescript-eslint/require-await': 'off',
      // a rejection passes on what it was given: an AbortSignal's reason, a caught error
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
      // an interface that only names another (EngineInfo for the addon's NativeStartInfo) is on purpose
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      '@typescript-eslint/no-deprecated': 'error',
      // a variable a callback reads before its one assignment (`let server` the logger may see) stays let
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      eqeqeq: ['error', 'smart'],
      'no-var': 'error',
      // the tests match PHP's own messages, whose double spaces are part of them
      'no-regex-spaces': 'off',
    },
  },
  {
    // tests read JSON bodies and PHP's answers as `any` and check them with assert
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // plain JavaScript: no types to check against (they are outside tsconfig.json)
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
