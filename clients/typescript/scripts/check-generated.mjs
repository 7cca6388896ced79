// Fails when src/schema.ts is not what openapi-typescript makes of openapi.yaml now: the
// committed client and the document have drifted. `npm run generate` brings them together.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bourse-client-"));
try {
  const fresh = join(dir, "schema.ts");
  execFileSync(
    process.execPath,
    [join(root, "node_modules/openapi-typescript/bin/cli.js"), join(root, "../../openapi.yaml"), "--output", fresh],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const committed = readFileSync(join(root, "src/schema.ts"), "utf8");
  if (readFileSync(fresh, "utf8") !== committed) {
    console.error("clients/typescript/src/schema.ts differs from what openapi.yaml generates: run `npm run generate` in clients/typescript and commit the result");
    process.exit(1);
  }
  console.log("clients/typescript/src/schema.ts matches openapi.yaml");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
