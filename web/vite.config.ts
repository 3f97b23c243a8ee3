/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build lands inside the Python package; the service serves it at "/".
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../src/central_logger/static",
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
