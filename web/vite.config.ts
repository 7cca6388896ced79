import { defineConfig } from "vite";

// No framework plugin: esbuild compiles the JSX for Preact directly.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", target: "es2022", sourcemap: false },
});
