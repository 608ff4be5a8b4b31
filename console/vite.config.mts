import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

// Built into console/dist, served by the API under /console (api/console/routes.ts): hashed assets,
// nothing loaded from another origin. JSX is compiled by Vite's own transformer (tsconfig "jsx").
export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [preloadApp(), precompress()],
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

/**
 * The entry (src/main.tsx) is small and loads the app with import(): index.html names the app's chunks
 * for the browser to fetch beside the entry, instead of after the entry has run.
 */
function preloadApp(): Plugin {
  return {
    name: 'console-preload-app',
    apply: 'build',
    transformIndexHtml(_html, ctx) {
      const chunks = Object.values(ctx.bundle ?? {}).flatMap((c) => (c.type === 'chunk' ? [c] : []));
      const app = chunks.find((c) => c.facadeModuleId?.endsWith('/src/app.tsx'));
      if (!app) throw new Error('console build: no chunk for src/app.tsx');
      const files = [app.fileName, ...app.imports.filter((f) => f !== ctx.chunk?.fileName)];
      return files.map((f) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href: `/console/${f}` }, injectTo: 'head' as const }));
    },
  };
}

/** Every script and stylesheet also written gzipped and as Brotli, served as such by the API (no compression per request). */
function precompress(): Plugin {
  return {
    name: 'console-precompress',
    apply: 'build',
    writeBundle(options, bundle) {
      for (const name of Object.keys(bundle).filter((n) => /\.(js|css)$/.test(n))) {
        const path = join(options.dir!, name);
        const body = readFileSync(path);
        writeFileSync(`${path}.gz`, gzipSync(body, { level: 9 }));
        writeFileSync(`${path}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }));
      }
    },
  };
}
