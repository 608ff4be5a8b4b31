import { defineConfig } from 'vite';

// Built into console/dist, served by the API under /console (api/console/routes.ts): hashed assets,
// nothing loaded from another origin. JSX is compiled by Vite's own transformer (tsconfig "jsx").
export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      // react-router marks its modules "use client" (for React Server Components): meaningless in a SPA.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  logLevel: 'warn',
});
