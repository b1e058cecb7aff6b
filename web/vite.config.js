// Build of the web map: plain ES modules bundled into dist/ (hashed names under dist/assets, served
// immutable by api/routers/web.py), with gzip twins so phones download a quarter of the bytes.
import { gzipSync } from 'node:zlib';
import { defineConfig } from 'vite';

function gzipTwins() {
  return {
    name: 'citygrid-gzip-twins',
    apply: 'build',
    generateBundle(_options, bundle) {
      for (const [name, item] of Object.entries(bundle)) {
        if (!/\.(js|css|html|svg|json)$/.test(name)) continue;
        const source = item.type === 'chunk' ? item.code : item.source;
        if (source.length < 1024) continue;
        this.emitFile({ type: 'asset', fileName: `${name}.gz`, source: gzipSync(source, { level: 9 }) });
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
  plugins: [gzipTwins()],
});
