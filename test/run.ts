/**
 * `npm test`: type-checks, then runs every suite.
 *
 *  - With DATABASE_URL and REDIS_URL set (CI sets them): every suite against real Postgres and Redis,
 *    including the multi-process ones (*.services.test.ts); then every other suite again on the embedded
 *    backends (PGlite, in-process coordination), so both adapters pass the same tests.
 *  - Without them: every suite on the embedded backends, and a plain list of the real-service suites not run.
 *  - Under CI (CI=true) missing services are an error, never a silent skip.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const onlyFiles = process.argv.slice(2); // `npm test -- test/kernel/http.test.ts` runs just those

function findTests(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "fixtures" ? [] : findTests(path);
    return name.endsWith(".test.ts") ? [relative(root, path)] : [];
  });
}

const all = (onlyFiles.length > 0 ? onlyFiles : findTests(join(root, "test"))).sort();
const needsServices = (file: string) => file.endsWith(".services.test.ts");
const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
const haveServices = Boolean(databaseUrl && redisUrl);

if (process.env.CI && !haveServices) {
  console.error("CI must run the real-service suites: set DATABASE_URL and REDIS_URL (.ci/run does).");
  process.exit(1);
}

function step(title: string, command: string, args: string[], env: NodeJS.ProcessEnv): boolean {
  console.log(`\n=== ${title} ===`);
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit" });
  return result.status === 0;
}

const mocha = resolve(root, "node_modules/mocha/bin/mocha.js");
const results: Array<[string, boolean]> = [];

if (onlyFiles.length === 0) {
  results.push(["typecheck", step("typecheck (tsc --noEmit)", process.execPath, [resolve(root, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", root], process.env)]);
}

if (haveServices) {
  results.push([
    "real Postgres + Redis",
    step(`all suites on real Postgres (${redact(databaseUrl!)}) and Redis (${redact(redisUrl!)})`, process.execPath, [mocha, ...all], process.env),
  ]);
}

const embeddedEnv = { ...process.env };
delete embeddedEnv.DATABASE_URL;
delete embeddedEnv.REDIS_URL;
const embeddedFiles = all.filter((f) => !needsServices(f));
if (embeddedFiles.length > 0) {
  results.push(["embedded PGlite + in-process", step("suites on the embedded backends (PGlite, in-process coordination)", process.execPath, [mocha, ...embeddedFiles], embeddedEnv)]);
}

console.log("\n=== summary ===");
for (const [name, passed] of results) console.log(`${passed ? "PASS" : "FAIL"}  ${name}`);
if (!haveServices) {
  const notRun = all.filter(needsServices);
  console.log(
    `NOT RUN  real-service suites (DATABASE_URL and REDIS_URL are not set):\n` +
      [
        ...notRun.map((f) => `         - ${f}`),
        "         - the Redis adapter half of test/kernel/coordination.contract.test.ts (the in-process half ran)",
        "         - every other suite against real Postgres and Redis (they ran on the embedded backends only)",
      ].join("\n"),
  );
}
process.exit(results.every(([, passed]) => passed) ? 0 : 1);

function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//***@");
}
