/**
 * `npm test`: type-checks, then runs every suite.
 *
 *  - With DATABASE_URL and REDIS_URL set (CI sets them): every suite against real Postgres and Redis,
 *    including the multi-process ones (*.services.test.ts); then every other suite again on the embedded
 *    backends (PGlite, in-process coordination), so both adapters pass the same tests.
 *  - Without them: every suite on the embedded backends, and a plain list of the real-service suites not run.
 *  - Suites named *.docker.test.ts need a real Docker engine (whale): they run in the real-service pass only, and
 *    only when an engine answers at DOCKER_HOST with the test image (`.ci/docker-engine start` provides both);
 *    otherwise they are listed under NOT RUN with the reason.
 *  - Under CI (CI=true) missing services or a missing engine are an error, never a silent skip.
 */
import Docker from "dockerode";
import { spawn, spawnSync } from "node:child_process";
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
const needsDocker = (file: string) => file.endsWith(".docker.test.ts");
const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
const haveServices = Boolean(databaseUrl && redisUrl);

if (process.env.CI && !haveServices) {
  console.error("CI must run the real-service suites: set DATABASE_URL and REDIS_URL (.ci/run does).");
  process.exit(1);
}

/** The image whale's suites start (built from local files by .ci/docker-engine). */
const dockerTestImage = "flaghost/flag-server:test";

/** Null when a Docker engine answers at DOCKER_HOST (or the default socket) and has the test image; else why not. */
async function dockerUnavailable(): Promise<string | null> {
  const where = process.env.DOCKER_HOST || "the default socket (DOCKER_HOST is not set)";
  const docker = new Docker({ timeout: 5_000 });
  try {
    await docker.ping();
  } catch (error) {
    return `no Docker engine answers (${(error as { code?: string }).code ?? (error as Error).message}) at ${where}`;
  }
  try {
    await docker.getImage(dockerTestImage).inspect();
  } catch {
    return `the engine at ${where} lacks the image ${dockerTestImage}`;
  }
  return null;
}
const startEngineHint = "start one with .ci/docker-engine start and export the DOCKER_HOST it prints";

const dockerSuites = all.filter(needsDocker);
const noDocker = dockerSuites.length > 0 ? await dockerUnavailable() : null;
if (process.env.CI && dockerSuites.length > 0 && noDocker) {
  console.error(`CI must run the Docker suites, but ${noDocker}: ${startEngineHint} (.ci/run does).`);
  process.exit(1);
}
/** Why the Docker suites do not run in this invocation, or null when they do (in the real-service pass). */
const dockerNotRunReason =
  dockerSuites.length === 0 ? null : !haveServices ? "they run with the real services: DATABASE_URL and REDIS_URL are not set" : noDocker && `${noDocker}; ${startEngineHint}`;

function step(title: string, command: string, args: string[], env: NodeJS.ProcessEnv): boolean {
  console.log(`\n=== ${title} ===`);
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit" });
  return result.status === 0;
}

/** Test counts over every mocha run, read from its closing lines, for one plain total at the end. */
const counted = { passed: 0, failed: 0, skipped: 0 };
/**
 * The headings of failed tests ("1) suite / test:" and the error's first line), repeated in the summary: CI keeps
 * only the tail of a long log, and the tail must say what failed.
 */
const failureHeadings: string[] = [];

/** Runs mocha with its output shown as it comes, and adds its closing counts to `counted`. */
async function mochaStep(label: string, title: string, files: string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  console.log(`\n=== ${title} ===`);
  const child = spawn(process.execPath, [mocha, ...files], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
  // Mocha's closing lines ("N passing", "N failing", "N pending") come before the failure details, which can be
  // long: every whole line is looked at as it comes, and the last count of each kind is kept.
  const counts = { passing: 0, failing: 0, pending: 0 };
  let partial = "";
  let inFailureDetails = false;
  let headingLinesLeft = 0;
  child.stdout.on("data", (chunk: Buffer) => {
    process.stdout.write(chunk);
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop()!;
    for (const raw of lines) {
      const line = raw.replace(/\x1b\[[0-9;]*m/g, "");
      const match = /^\s*(\d+) (passing|failing|pending)\b/.exec(line);
      if (match) {
        counts[match[2] as keyof typeof counts] = Number(match[1]);
        if (match[2] === "failing") inFailureDetails = true;
        continue;
      }
      if (!inFailureDetails) continue;
      // Each failure opens with "  N) suite" and goes on with the test's title, its hook, and the error line.
      if (/^\s{2}\d+\) /.test(line)) headingLinesLeft = 4;
      if (headingLinesLeft > 0 && line.trim() !== "") {
        failureHeadings.push(`[${label}] ${line.trim()}`.slice(0, 300));
        headingLinesLeft -= 1;
      }
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  counted.passed += counts.passing;
  counted.failed += counts.failing;
  counted.skipped += counts.pending;
  return code === 0;
}

const mocha = resolve(root, "node_modules/mocha/bin/mocha.js");
const results: Array<[string, boolean]> = [];

if (onlyFiles.length === 0) {
  results.push(["typecheck", step("typecheck (tsc --noEmit)", process.execPath, [resolve(root, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", root], process.env)]);
}

const realServiceFiles = all.filter((f) => !needsDocker(f) || !dockerNotRunReason);
if (haveServices && realServiceFiles.length > 0) {
  results.push(["real Postgres + Redis", await mochaStep("real services", `all suites on real Postgres (${redact(databaseUrl!)}) and Redis (${redact(redisUrl!)})${dockerNotRunReason ? "" : ", Docker suites on the engine at DOCKER_HOST"}`, realServiceFiles, process.env)]);
}

const embeddedEnv = { ...process.env };
delete embeddedEnv.DATABASE_URL;
delete embeddedEnv.REDIS_URL;
// Docker suites drive an engine, not the database adapters: once, in the real-service pass, is enough.
const embeddedFiles = all.filter((f) => !needsServices(f) && !needsDocker(f));
if (embeddedFiles.length > 0) {
  results.push(["embedded PGlite + in-process", await mochaStep("embedded", "suites on the embedded backends (PGlite, in-process coordination)", embeddedFiles, embeddedEnv)]);
}

console.log("\n=== summary ===");
for (const [name, passed] of results) console.log(`${passed ? "PASS" : "FAIL"}  ${name}`);
if (dockerNotRunReason) {
  console.log(
    `NOT RUN  Docker suites (${dockerNotRunReason}):\n` +
      dockerSuites.map((f) => `         - ${f}`).join("\n"),
  );
}
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
if (failureHeadings.length > 0) console.log(`FAILED TESTS:\n${failureHeadings.map((l) => `  ${l}`).join("\n")}`);
// One plain total over every run (each suite counts once per backend it ran on).
console.log(`tests: ${counted.passed} passed, ${counted.failed} failed${counted.skipped > 0 ? `, ${counted.skipped} skipped` : ""}`);
process.exit(results.every(([, passed]) => passed) ? 0 : 1);

function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//***@");
}
