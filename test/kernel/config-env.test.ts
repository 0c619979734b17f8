import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { expect } from "chai";
import { fixturePlugin, projectRoot } from "../helpers/kernel.js";

/**
 * `npm start` as an event host runs it: npm hands the script to /bin/sh (dash on Debian), which drops variables
 * whose names hold a `-`. So these tests set plugin variables the only way that survives: `_` for `-`.
 */
function npmStart(env: Record<string, string>) {
  const child = spawn("npm", ["start", "--silent"], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FLAGHOST_DATA_DIR: "memory:", FLAGHOST_LOG_LEVEL: "warn", FLAGHOST_HOST: "127.0.0.1", ...env },
    detached: true, // its own process group, so stopping it also stops the shell and node that npm started
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    exited,
    output: () => ({ stdout, stderr }),
    async listening(): Promise<void> {
      const deadline = Date.now() + 60_000;
      while (!stdout.includes("listening on")) {
        if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`npm start did not listen: ${stdout} ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop(): Promise<void> {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
      await exited;
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const probeOnly = { FLAGHOST_PLUGIN_PATHS: fixturePlugin("env-probe") };

describe("FLAGHOST__ environment names through npm start", function () {
  this.timeout(90_000);

  it("delivers FLAGHOST__plugins__env_probe__* to the plugin with id env-probe", async () => {
    const port = await freePort();
    const run = npmStart({
      ...probeOnly,
      PORT: String(port),
      FLAGHOST__plugins__env_probe__baseUrl: "https://ctf.example.org/api",
      FLAGHOST__plugins__env_probe__retries: "3",
    });
    try {
      await run.listening();
      const response = await fetch(`http://127.0.0.1:${port}/env-probe/config`);
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.equal({ success: true, data: { baseUrl: "https://ctf.example.org/api", retries: 3 } });
    } finally {
      await run.stop();
    }
  });

  it("refuses a kernel key or a plugin id that does not exist: exit 1, one line each, the nearest name", async () => {
    const run = npmStart({
      ...probeOnly,
      FLAGHOST__scheduler__leasMs: "1000",
      FLAGHOST__plugins__env_prob__baseUrl: "https://ctf.example.org",
      FLAGHOST__port__number: "1",
    });
    expect(await run.exited).to.equal(1);
    const { stderr } = run.output();
    expect(stderr).to.include('FLAGHOST__scheduler__leasMs: no config key "scheduler.leasMs" (did you mean scheduler.leaseMs?)');
    expect(stderr).to.include('FLAGHOST__plugins__env_prob__baseUrl: no plugin with id "env-prob" (did you mean plugins.env-probe?)');
    expect(stderr).to.include('FLAGHOST__port__number: no config key "port.number" (port has no sub-keys)');
    expect(stderr).not.to.include("    at ");
  });

  it("refuses a key the plugin's own schema does not have", async () => {
    const run = npmStart({ ...probeOnly, FLAGHOST__plugins__env_probe__baseURL: "https://ctf.example.org" });
    expect(await run.exited).to.equal(1);
    const { stderr } = run.output();
    expect(stderr).to.match(/plugins\.env-probe: Unrecognized key: "baseURL"/);
    expect(stderr).not.to.include("    at ");
  });
});
