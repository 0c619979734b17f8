import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "chai";
import { fixturePlugin, projectRoot } from "../helpers/kernel.js";

/** Runs bin/flaghost.js as an event host would, with a scrubbed environment plus `env`. */
function flaghost(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [resolve(projectRoot, "bin/flaghost.js"), ...args], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FLAGHOST_DATA_DIR: "memory:", FLAGHOST_LOG_LEVEL: "warn", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("flaghost CLI", () => {
  const configDirs: string[] = [];
  const scratchConfigDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "flaghost-config-"));
    configDirs.push(dir);
    return dir;
  };
  after(() => configDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it("stops start-up on invalid configuration with the key path, the reason and a non-zero exit code", () => {
    const configDir = scratchConfigDir();
    writeFileSync(join(configDir, "default.json"), JSON.stringify({ port: "eighty", websocket: { heartbeatMs: -5 } }));
    const { code, stderr } = flaghost(["start"], { FLAGHOST_CONFIG_DIR: configDir, FLAGHOST_ADMIN_TOKEN: "short" });
    expect(code).to.equal(1);
    expect(stderr).to.include("invalid configuration");
    expect(stderr).to.match(/port: .*expected number/i);
    expect(stderr).to.match(/websocket\.heartbeatMs: .*>0/);
    expect(stderr).to.include("adminToken: must be at least 16 characters");
    expect(stderr).not.to.include("    at "); // no stack trace for an event host's mistake
  });

  it("reports a config file that is not JSON", () => {
    const configDir = scratchConfigDir();
    writeFileSync(join(configDir, "default.json"), "{ port: 8000 ");
    const { code, stderr } = flaghost(["start"], { FLAGHOST_CONFIG_DIR: configDir });
    expect(code).to.equal(1);
    expect(stderr).to.include(`invalid configuration file ${join(configDir, "default.json")}`);
  });

  it("checks manifests and prints the load order without starting anything", () => {
    const ok = flaghost(["plugins"], { FLAGHOST_PLUGIN_PATHS: [fixturePlugin("alpha"), fixturePlugin("needs-broken"), fixturePlugin("broken-init")].join(",") });
    expect(ok.code).to.equal(0);
    const lines = ok.stdout.trim().split("\n");
    expect(lines.findIndex((l) => l.includes("broken-init@"))).to.be.lessThan(lines.findIndex((l) => l.includes("needs-broken@")));
    const bad = flaghost(["plugins"], { FLAGHOST_PLUGIN_PATHS: [fixturePlugin("bad-manifest"), fixturePlugin("cycle-a"), fixturePlugin("cycle-b")].join(",") });
    expect(bad.code).to.equal(1);
    expect(bad.stdout).to.include("bad-manifest: failed: invalid manifest").and.include("/version must match pattern");
    expect(bad.stdout).to.match(/cycle-a: failed: dependency cycle/);
  });

  it("applies migrations with `migrate` and exits 0", () => {
    const { code, stdout, stderr } = flaghost(["migrate"], { FLAGHOST_PLUGIN_PATHS: fixturePlugin("alpha") });
    expect(code, stderr).to.equal(0);
    expect(stdout).to.include("migrations applied");
  });

  it("explains an unknown command", () => {
    const { code, stderr } = flaghost(["frobnicate"]);
    expect(code).to.equal(1);
    expect(stderr).to.include('unknown command "frobnicate"').and.include("Usage: flaghost <command>");
  });
});
