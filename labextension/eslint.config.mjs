// ESLint (flat config) for the lab extension: typescript-eslint's type-aware recommended rules
// on src/, the house rules (no `any`, no `console.log`, braces and === everywhere), and nothing
// about layout, which prettier owns (eslint-config-prettier turns the layout rules off).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['lib/', 'node_modules/', '.yarn/', 'coverage/', '*.config.js', '*.config.mjs'] },
  {
    files: ['src/**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked, prettier],
    languageOptions: {
      // tsconfig.test.json: the sources and their tests (tsconfig.json builds only the former)
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': ['error', { allow: ['warn', 'error'] }],
      eqeqeq: ['error', 'smart'],
      curly: ['error', 'all']
    }
  }
);
