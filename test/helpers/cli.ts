import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { backends, uniqueName } from "./backends.js";
import { dropSchema, projectRoot } from "./kernel.js";

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bin/flaghost.js` (core/ctf only) against a database of its own: a fresh Postgres schema when DATABASE_URL is
 * set, else a fresh embedded data folder. `scratch` is a temporary folder for the files a test writes; `remove()`
 * drops the database and both folders.
 */
export function cliOnOwnDatabase(label: string): { flaghost(args: string[]): CliRun; scratch: string; remove(): Promise<void> } {
  const env: Record<string, string> = backends.databaseUrl
    ? { DATABASE_URL: backends.databaseUrl, FLAGHOST_DB_SCHEMA: uniqueName(label.replace(/-/g, "_")) }
    : { FLAGHOST_DATA_DIR: join(tmpdir(), uniqueName(`flaghost-${label}-data`)) };
  const scratch = mkdtempSync(join(tmpdir(), `flaghost-${label}-`));
  return {
    scratch,
    flaghost(args) {
      const result = spawnSync(process.execPath, [resolve(projectRoot, "bin/flaghost.js"), ...args], {
        cwd: projectRoot,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, FLAGHOST_LOG_LEVEL: "warn", FLAGHOST_PLUGIN_PATHS: "core/ctf", ...env },
        encoding: "utf8",
        timeout: 120_000,
      });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    async remove() {
      if (env.FLAGHOST_DB_SCHEMA) await dropSchema(env.FLAGHOST_DB_SCHEMA);
      if (env.FLAGHOST_DATA_DIR) rmSync(env.FLAGHOST_DATA_DIR, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
