/**
 * whale's engine contract: the same cases for the `docker` and the `swarm` driver, on the real engine at DOCKER_HOST
 * (`.ci/docker-engine start`; a one-node swarm with host networking). test/run.ts runs `*.docker.test.ts` suites only
 * when an engine answers. Host ports 31000-31999 belong to this suite; everything it starts carries a label of this
 * run and is removed after each case.
 */
import { expect } from "chai";
import Docker from "dockerode";
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Server } from "node:net";
import { createEngineDriver, EngineUnavailableError, type ContainerInfo, type ContainerSpec, type EngineDriver } from "../../../plugins/whale/engine/index.js";
import { uniqueName } from "../../helpers/backends.js";
import { eventually } from "../../helpers/kernel.js";
import { firstLine } from "../../helpers/tcp.js";

const image = "flaghost/flag-server:test";
/** An image no engine has and no registry serves: its pull is refused on the loopback at once. */
const missingImage = "127.0.0.1:1/flaghost/missing:test";
/** Marks everything this suite starts, so a run that was killed half-way is cleaned up by the next. */
const suiteLabel = "flaghost.test.engine-contract";

/** Raw engine access for what the drivers do not report (the limits on the container itself). */
const engine = new Docker();

for (const kind of ["docker", "swarm"] as const) {
  describe(`whale engine contract: the ${kind} driver`, function () {
    this.timeout(120_000);
    const run = uniqueName(kind);
    /** A label key only this run's containers carry: `list` by presence finds exactly them. */
    const runKey = `flaghost.test.run.${run}`;
    let driver: EngineDriver;
    let started = 0;
    let nextPort = kind === "docker" ? 31000 : 31500;

    function spec(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
      const n = ++started;
      const hostPort = nextPort++;
      const startId = `${run}-${n}`;
      return {
        name: `flaghost-whale-${startId}`,
        image,
        env: { FLAG: `flag{${startId}}`, PORT: String(hostPort) },
        labels: {
          "flaghost.whale.account": String(100 + n),
          "flaghost.whale.challenge": "7",
          "flaghost.whale.start": startId,
          "flaghost.whale.expires": new Date(Date.now() + 3_600_000).toISOString(),
          [suiteLabel]: kind,
          [runKey]: String(n),
        },
        memoryMb: 64,
        cpus: 0.25,
        network: "host",
        containerPort: hostPort,
        hostPort,
        ...overrides,
      };
    }

    async function removeAllOfThisSuite(): Promise<void> {
      for (const info of await driver.list({ [suiteLabel]: kind })) await driver.remove(info.id);
    }

    /** The container's info once it has exited (the swarm reports a task's end a moment later). */
    async function exited(id: string): Promise<ContainerInfo> {
      const info = await eventually(async () => {
        const now = await driver.inspect(id);
        return now.state === "exited" ? now : null;
      }, 60_000, 200);
      return info!;
    }

    const running = (id: string) => eventually(async () => (await driver.inspect(id)).state === "running", 60_000, 200);

    before(async () => {
      driver = createEngineDriver({ driver: kind });
      await driver.ping();
      await removeAllOfThisSuite();
    });
    afterEach(async () => {
      await removeAllOfThisSuite();
      expect(await driver.list({ [suiteLabel]: kind }), "left behind").to.deep.equal([]);
    });
    after(async () => driver?.close());

    it("starts a container that runs and serves the flag from its env on its host port", async () => {
      const s = spec();
      const { id } = await driver.start(s);
      await running(id);
      const info = await driver.inspect(id);
      expect(info).to.include({ id, name: s.name, state: "running", hostPort: s.hostPort, error: null });
      expect(await firstLine(s.hostPort)).to.equal(s.env.FLAG);
    });

    it("round-trips the labels through inspect and list", async () => {
      const s = spec();
      const { id } = await driver.start(s);
      expect((await driver.inspect(id)).labels).to.deep.include(s.labels);
      const listed = await driver.list({ "flaghost.whale.start": s.labels["flaghost.whale.start"]! });
      expect(listed.map((i) => i.id)).to.deep.equal([id]);
      expect(listed[0]!.labels).to.deep.include(s.labels);
      expect(listed[0]).to.include({ name: s.name, hostPort: s.hostPort });
    });

    it("lists by label value and by label presence", async () => {
      const [a, b] = [spec(), spec()];
      b.labels["flaghost.whale.challenge"] = "8";
      const [ida, idb] = [(await driver.start(a)).id, (await driver.start(b)).id];
      const ids = (infos: ContainerInfo[]) => infos.map((i) => i.id).sort();
      expect(ids(await driver.list({ [runKey]: true }))).to.deep.equal([ida, idb].sort());
      expect(ids(await driver.list({ [runKey]: true, "flaghost.whale.challenge": "8" }))).to.deep.equal([idb]);
      expect(ids(await driver.list({ [runKey]: a.labels[runKey]! }))).to.deep.equal([ida]);
      expect(await driver.list({ [runKey]: "no such value" })).to.deep.equal([]);
      expect(await driver.list({ [`${runKey}.absent`]: true })).to.deep.equal([]);
    });

    it("inspects a removed one as missing, and remove is idempotent", async () => {
      const { id } = await driver.start(spec());
      await driver.remove(id);
      expect(await driver.inspect(id)).to.include({ id, state: "missing" });
      await driver.remove(id);
      await driver.remove("0123456789abcdef0123456789abcdef");
      expect(await driver.list({ [runKey]: true })).to.deep.equal([]);
    });

    it("frees the host port on remove: a new start on the same port serves its own flag", async () => {
      const first = spec();
      const { id } = await driver.start(first);
      await running(id);
      expect(await firstLine(first.hostPort)).to.equal(first.env.FLAG);
      await driver.remove(id);
      const second = spec({ hostPort: first.hostPort, containerPort: first.hostPort });
      second.env.PORT = String(first.hostPort);
      const again = await driver.start(second);
      await running(again.id);
      expect(await firstLine(first.hostPort)).to.equal(second.env.FLAG);
    });

    it("runs the given command instead of the image's, and reports its exit as the reason", async () => {
      const { id } = await driver.start(spec({ command: ["/bin/sh", "-c", "exit 3"] }));
      const info = await exited(id);
      expect(info.error).to.be.a("string").and.match(/\b3\b/);
    });

    it("ends a bad image in an error the caller can show (start throws, or the state is exited with the reason)", async () => {
      const s = spec({ image: missingImage });
      let reason: string;
      try {
        const { id } = await driver.start(s);
        const info = await exited(id);
        reason = info.error!;
      } catch (error) {
        expect(error).not.to.be.instanceOf(EngineUnavailableError);
        reason = (error as Error).message;
      }
      expect(reason).to.be.a("string").and.match(/missing|127\.0\.0\.1:1/);
    });

    it("applies the limits: memory in MiB and cpus as NanoCpus on the container", async () => {
      const s = spec({ memoryMb: 96, cpus: 0.75 });
      await driver.start(s);
      // On swarm the task's container appears a moment after the service.
      const container = await eventually(async () => {
        const found = await engine.listContainers({ all: true, filters: { label: [`flaghost.whale.start=${s.labels["flaghost.whale.start"]}`] } });
        return found[0] ?? null;
      }, 60_000, 200);
      const details = await engine.getContainer(container.Id).inspect();
      expect(details.HostConfig.Memory).to.equal(96 * 1024 * 1024);
      expect(details.HostConfig.NanoCpus).to.equal(750_000_000);
    });

    for (const dockerHost of ["unix:///tmp/nowhere.sock", "tcp://127.0.0.1:1"]) {
      it(`throws EngineUnavailableError with a reason from every method when the engine is unreachable (${dockerHost})`, async () => {
        const unreachable = createEngineDriver({ driver: kind, dockerHost });
        const calls: Array<[string, () => Promise<unknown>]> = [
          ["ping", () => unreachable.ping()],
          ["start", () => unreachable.start(spec())],
          ["inspect", () => unreachable.inspect("abc")],
          ["remove", () => unreachable.remove("abc")],
          ["list", () => unreachable.list({ [runKey]: true })],
        ];
        for (const [method, call] of calls) {
          const error = await call().then(
            () => null,
            (e: unknown) => e,
          );
          expect(error, method).to.be.instanceOf(EngineUnavailableError);
          expect((error as Error).message, method).to.include(dockerHost);
        }
        await unreachable.close();
      });
    }

    it("ping gives up with EngineUnavailableError on an address that accepts connections but never answers", async () => {
      const silent = createTcpServer(() => undefined); // holds every connection open, says nothing
      const port = await listen(silent);
      try {
        const started = Date.now();
        const error = await createEngineDriver({ driver: kind, dockerHost: `tcp://127.0.0.1:${port}` }).ping().catch((e: unknown) => e);
        expect(error).to.be.instanceOf(EngineUnavailableError);
        expect((error as Error).message).to.include(`tcp://127.0.0.1:${port}`).and.include("no answer");
        expect(Date.now() - started, "gave up after").to.be.below(30_000);
      } finally {
        silent.close();
      }
    });

    it("ping says EngineUnavailableError when the address is an HTTP server that is not a Docker engine", async () => {
      const notDocker = createHttpServer((_req, res) => res.writeHead(404).end("not here"));
      const port = await listen(notDocker);
      try {
        const error = await createEngineDriver({ driver: kind, dockerHost: `tcp://127.0.0.1:${port}` }).ping().catch((e: unknown) => e);
        expect(error).to.be.instanceOf(EngineUnavailableError);
        expect((error as Error).message).to.include("HTTP 404");
      } finally {
        notDocker.close();
      }
    });

    it("refuses a dockerHost of the wrong form at once (a configuration error)", () => {
      for (const dockerHost of ["ftp://example.org", "tcp://", "unix:/no-slashes"]) {
        expect(() => createEngineDriver({ driver: kind, dockerHost }), dockerHost).to.throw(/neither unix:\/\/\/path nor tcp:\/\/host:port/);
      }
    });
  });
}

describe("whale engine: both drivers on one engine", function () {
  this.timeout(120_000);

  it("the docker driver does not take the swarm's task containers for its own", async () => {
    const [docker, swarm] = [createEngineDriver({ driver: "docker" }), createEngineDriver({ driver: "swarm" })];
    const startId = uniqueName("side-by-side");
    const labels = { "flaghost.whale.start": startId, [suiteLabel]: "swarm" };
    const { id } = await swarm.start({ name: `flaghost-whale-${startId}`, image, env: { FLAG: "flag{x}", PORT: "31499" }, labels, memoryMb: 64, cpus: 0.25, network: "host", containerPort: 31499, hostPort: 31499 });
    try {
      // The task's container exists on this engine with the same labels…
      await eventually(async () => (await engine.listContainers({ all: true, filters: { label: [`flaghost.whale.start=${startId}`] } })).length > 0, 60_000, 200);
      // …and only the swarm driver lists it.
      expect(await docker.list({ "flaghost.whale.start": startId })).to.deep.equal([]);
      expect((await swarm.list({ "flaghost.whale.start": startId })).map((i) => i.id)).to.deep.equal([id]);
    } finally {
      await swarm.remove(id);
    }
  });
});

/** Listens on an ephemeral port of the loopback; resolves that port. */
function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}
