// Guardrails that cost nothing: promises are awaited, workflows stay deterministic, and imports point
// the right way between business modules (see the README's architecture section).
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = ['node:*', 'fs', 'fs/*', 'path', 'os', 'crypto', 'http', 'https', 'net', 'child_process', 'timers', 'timers/*', 'util', 'stream', 'zlib', 'dns', 'url'];
const restrict = (patterns) => ['error', { patterns }];
const group = (paths, message, allowTypeImports = false) => ({ group: paths, message, allowTypeImports });

export default tseslint.config(
  { ignores: ['node_modules/', 'generated/', 'dist/', 'console/dist/', '.temporal/', '.data/', 'coverage/', '**/*.js', '**/*.mjs'] },
  {
    files: ['**/*.ts', 'console/**/*.tsx'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
      'no-var': 'error',
      'prefer-const': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // Pure business rules: no I/O, nothing of the project outside domain/.
    files: ['domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict([
        group(
          ['**/infra/**', '**/store/**', '**/api/**', '**/activities/**', '**/workflows/**', '**/channels/**', '**/sandbox/**', '**/generated/**', '**/testkit/**', '**/scripts/**'],
          'domain/ is pure: it imports nothing of the project outside itself',
        ),
        group(['express', 'pg', '@prisma/*', '@temporalio/*', 'pino'], 'domain/ does no I/O'),
      ]),
    },
  },
  {
    // Workflow code is replayed: no I/O, clocks or randomness, no Node builtins; activities by type only.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict([
        group(NODE_BUILTINS, 'workflow code must stay deterministic: no Node builtins (do the work in an activity)'),
        group(['**/infra/**', '**/store/**', '**/api/**', '**/channels/**', '**/sandbox/**', '**/generated/**', 'express', 'pg', '@prisma/*', 'pino', 'zod'], 'workflow code does no I/O and validates nothing at runtime (see temporal-notes: zod in workflows)'),
        group(['**/activities', '**/activities/**'], 'workflows import activities by type only', true),
      ]),
    },
  },
  {
    // Activities and the runtime never import workflow code; what they share lives in workflows/contract.ts.
    files: ['worker.ts', 'activities/**/*.ts', 'infra/**/*.ts', 'store/**/*.ts', 'api/**/*.ts', 'channels/**/*.ts', 'sandbox/**/*.ts', 'routing/**/*.ts', 'notifications/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict([
        group(['**/workflows/**', '!**/workflows/contract'], 'only workflows/contract.ts is shared with workflow callers'),
        group(['**/scripts/**', '**/testkit/**', '**/bench/**', '**/test/**'], 'runtime code does not import dev tooling'),
      ]),
    },
  },
  {
    // SQL is fenced in store/: the other modules call it.
    files: ['activities/**/*.ts', 'api/**/*.ts', 'channels/**/*.ts', 'sandbox/**/*.ts', 'workflows/**/*.ts', 'domain/**/*.ts', 'routing/**/*.ts', 'notifications/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[property.name=/^\\$(queryRaw|executeRaw|queryRawUnsafe|executeRawUnsafe)$/]", message: 'SQL lives in store/' },
        { selector: "TaggedTemplateExpression[tag.property.name='sql']", message: 'SQL lives in store/' },
      ],
    },
  },
  {
    // Game-server transports send and classify: no database, no Temporal (the activities record).
    files: ['fulfillment/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict([
        group(['**/store/**', '**/activities/**', '**/workflows/**', '**/api/**', '**/infra/db', '@prisma/*', '@temporalio/*', 'pg'], 'a game-server transport talks to the game server only'),
        group(['**/scripts/**', '**/testkit/**', '**/bench/**', '**/test/**'], 'runtime code does not import dev tooling'),
      ]),
    },
  },
  // Channel adapters talk to their channel only: no database, no Temporal, and the sandbox adapter talks
  // to the sandbox provider over HTTP as to any channel (the provider's code and keys stay in sandbox/).
  ...[
    ['channels/*.ts', '../sandbox'],
    ['channels/*/**/*.ts', '../../sandbox'],
  ].map(([files, provider]) => ({
    files: [files],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict([
        group(['**/store/**', '**/activities/**', '**/workflows/**', '**/api/**', '**/infra/db', '@prisma/*', '@temporalio/*', 'pg'], 'a channel adapter talks to its channel only'),
        group([provider, `${provider}/**`], 'a channel adapter never imports the sandbox provider (sandbox/): it calls it over HTTP'),
        group(['**/scripts/**', '**/testkit/**', '**/bench/**', '**/test/**'], 'runtime code does not import dev tooling'),
      ]),
    },
  })),
  {
    // infra/ is runtime plumbing (config, db, logger, metrics, Temporal, Redis); application services
    // that read or write the store live with their module (routing/, activities/, ...).
    files: ['infra/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict([
        group(['**/store/**', '**/activities/**', '**/api/**', '**/channels/**', '**/routing/**', '**/sandbox/**'], 'infra/ is plumbing: it imports nothing of the application modules'),
        group(['**/workflows/**', '!**/workflows/contract'], 'only workflows/contract.ts is shared with workflow callers'),
        group(['**/scripts/**', '**/testkit/**', '**/bench/**', '**/test/**'], 'runtime code does not import dev tooling'),
      ]),
    },
  },
  {
    // The console is a browser app (own tsconfig): it talks to the API over HTTP through its generated
    // client, never by importing server code.
    files: ['console/**/*.ts', 'console/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict([
        group(
          ['**/domain/**', '**/store/**', '**/infra/**', '**/api/**', '**/activities/**', '**/workflows/**', '**/channels/**', '**/sandbox/**', '**/routing/**', '**/fulfillment/**', '**/generated/**', '**/testkit/**', '**/scripts/**', '**/worker'],
          'the console imports no server code: it calls the API through console/src/client',
        ),
        group([...NODE_BUILTINS, 'express', 'pg', '@prisma/*', '@temporalio/*', 'pino', 'zod'], 'the console runs in the browser'),
      ]),
    },
  },
);
