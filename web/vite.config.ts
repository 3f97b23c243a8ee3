/// <reference types="vitest/config" />
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createRequire } from "node:module";
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

const OUT_DIR = "../src/central_logger/static";

/** Swagger UI for /docs, from the swagger-ui-dist package into the build: the service
 * serves it itself, so the API docs work offline (no CDN). */
function swaggerUi(): Plugin {
  return {
    name: "central-logger-swagger-ui",
    apply: "build",
    closeBundle() {
      const dist = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
      const target = resolve(__dirname, OUT_DIR, "swagger");
      mkdirSync(target, { recursive: true });
      for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"]) {
        copyFileSync(resolve(dist, file), resolve(target, file));
      }
    },
  };
}

// The build lands inside the Python package; the service serves it at "/".
export default defineConfig({
  plugins: [react(), swaggerUi()],
  base: "/",
  build: {
    outDir: OUT_DIR,
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      "/api": process.env.API_TARGET ?? "http://127.0.0.1:8000",
      "/health": process.env.API_TARGET ?? "http://127.0.0.1:8000",
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
