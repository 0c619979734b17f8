import Docker from "dockerode";
import { rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { resolve } from "node:path";
import { projectRoot } from "../../helpers/kernel.js";
import { startCtf, type Client, type TestCtf } from "../../helpers/ctf.js";

export const WHALE_PLUGIN = resolve(projectRoot, "plugins/whale");
export const FLAG_IMAGE = "flaghost/flag-server:test";
/** whale's tests take host ports from here (the engine helper's contract suite uses 31000-31999). */
export const TEST_PORTS: [number, number] = [32000, 32999];
export const TEST_SECRET = "whale-test-secret-0123456789abcdef0123";

/** A CTF with whale on the given engine settings (host network, the test port range, a fixed flag secret). */
export function startWhale(options: { mode?: "users" | "teams"; whale?: Record<string, unknown>; portRange?: [number, number] } = {}): Promise<TestCtf> {
  return startCtf({
    mode: options.mode,
    plugins: [WHALE_PLUGIN],
    config: {
      plugins: {
        whale: { network: "host", portRange: options.portRange ?? TEST_PORTS, publicHost: "127.0.0.1", flagSecret: TEST_SECRET, healthCheckS: 1, ...options.whale },
      },
    },
  });
}

/** A container challenge made through the admin API, fields flat as the issue has them; returns its id. */
export async function containerChallenge(t: TestCtf, fields: Record<string, unknown> = {}): Promise<number> {
  const res = await t.admin.post("/api/v1/challenges", { name: `box ${Math.random().toString(36).slice(2, 8)}`, category: "pwn", value: 100, type: "container", image: FLAG_IMAGE, port: 8000, ...fields });
  if (res.status !== 200) throw new Error(`container challenge failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data.id as number;
}

export const startContainer = (client: Client, challengeId: number) => client.post("/api/v1/containers", { challenge_id: challengeId });
export const statusOf = (client: Client, startId: string) => client.get(`/api/v1/containers/status?id=${startId}`);

/** Polls the start's status until it is final (ready, failed or stopped); returns the last body. */
export async function settled(client: Client, startId: string, timeoutMs = 90_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await statusOf(client, startId);
    if (res.status !== 200) throw new Error(`status ${res.status}: ${JSON.stringify(res.body)}`);
    if (["ready", "failed", "stopped"].includes(res.body.data.status)) return res.body.data;
    if (Date.now() > deadline) throw new Error(`start ${startId} still ${res.body.data.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Reads what a TCP service sends before it closes the connection (the flag server sends $FLAG). */
export function readService(port: number, host = "127.0.0.1"): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host, port });
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => (text += chunk));
    socket.on("end", () => resolvePromise(text.trim()));
    socket.on("error", reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no answer on ${port}`)));
  });
}

const engine = () => new Docker();

/** whale's containers on the test engine whose host port lies in the range (this suite's, never another's). */
export async function containersInRange(range: [number, number] = TEST_PORTS): Promise<Docker.ContainerInfo[]> {
  const all = await engine().listContainers({ all: true, filters: { label: ["flaghost.whale.start"] } });
  return all.filter((c) => {
    const port = Number(c.Labels["flaghost.whale.host-port"]);
    return port >= range[0] && port <= range[1];
  });
}

/** Removes every whale container in the range: each suite leaves nothing running. */
export async function removeContainersInRange(range: [number, number] = TEST_PORTS): Promise<void> {
  for (const c of await containersInRange(range)) await engine().getContainer(c.Id).remove({ force: true }).catch(() => undefined);
}

const engineSocket = (process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock").replace(/^unix:\/\//, "");

/**
 * A byte-for-byte relay from a socket of ours to the real engine's: `close` drops it and every connection through it
 * (the engine going away, for whoever uses the relay, without stopping the engine other suites share). `tap` sees
 * each chunk a client sends to the engine (what a driver asks of it), unchanged.
 */
export class EngineRelay {
  private server: Server | null = null;
  private readonly open = new Set<Socket>();
  constructor(
    readonly path: string,
    private readonly tap?: (chunk: Buffer) => void,
  ) {}

  async listen(): Promise<void> {
    rmSync(this.path, { force: true });
    const server = createServer((client) => {
      const upstream = connect(engineSocket);
      for (const s of [client, upstream]) {
        this.open.add(s);
        s.on("close", () => this.open.delete(s));
        s.on("error", () => undefined);
      }
      if (this.tap) client.on("data", this.tap);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.path, resolve));
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.open) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}
