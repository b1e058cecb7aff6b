// Build of the web map: plain ES modules bundled into dist/ (hashed names under dist/assets, served
// immutable by api/routers/web.py), with gzip twins so phones download a quarter of the bytes.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { defineConfig } from 'vite';

function gzipTwins() {
  return {
    name: 'citygrid-gzip-twins',
    apply: 'build',
    // After writing, from the files on disk: at generateBundle time a chunk with a lazy import still
    // holds vite's `__VITE_PRELOAD__` placeholder, and its gzip twin would break the lazy import.
    writeBundle(options, bundle) {
      for (const name of Object.keys(bundle)) {
        if (!/\.(js|css|html|svg|json)$/.test(name)) continue;
        const file = join(options.dir, name);
        const source = readFileSync(file);
        if (source.length < 1024) continue;
        writeFileSync(`${file}.gz`, gzipSync(source, { level: 9 }));
      }
    },
  };
}

/** Swagger UI for the server's /docs, from npm (swagger-ui-dist, pinned): the API page works offline. */
function swaggerAssets() {
  return {
    name: 'citygrid-swagger-ui',
    apply: 'build',
    writeBundle(options) {
      const from = join('node_modules', 'swagger-ui-dist');
      const to = join(options.dir, 'swagger');
      mkdirSync(to, { recursive: true });
      for (const name of ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png', 'LICENSE']) {
        copyFileSync(join(from, name), join(to, name));
        if (/\.(js|css)$/.test(name)) writeFileSync(join(to, `${name}.gz`), gzipSync(readFileSync(join(to, name)), { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
  plugins: [gzipTwins(), swaggerAssets()],
});
