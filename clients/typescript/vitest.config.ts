import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // A function's first answer on a fresh local stack can take seconds (debug builds).
    testTimeout: 60_000,
  },
});
