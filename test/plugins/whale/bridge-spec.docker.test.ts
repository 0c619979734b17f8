/**
 * Bridge mode, as far as it can be checked here: the CI engine runs with --bridge=none and private-range addresses
 * are off-limits, so nothing connects to a bridge container. What is checked is what the docker driver asks of the
 * real engine for a bridge-mode start (recorded by a relay in front of the engine's socket, answered by the engine
 * itself): the container port exposed and published on the allocated host port, PORT = the container's own port, and
 * that the engine accepts it. Ports 30650-30659.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { containerSettings } from "../../../plugins/whale/challenge-type.js";
import { containerSpec } from "../../../plugins/whale/container-spec.js";
import { createEngineDriver, type EngineDriver } from "../../../plugins/whale/engine/index.js";
import type { StartRecord } from "../../../plugins/whale/starts.js";
import { EngineRelay, FLAG_IMAGE, removeContainersInRange } from "./helpers.js";

const PORTS: [number, number] = [30650, 30659];

/** The JSON bodies of the `POST /containers/create` requests in what a client sent (Content-Length or chunked). */
function createBodies(sent: Buffer): Array<{ path: string; body: any }> {
  const text = sent.toString("latin1");
  const found: Array<{ path: string; body: any }> = [];
  const request = /POST (\/v[\d.]+)?\/containers\/create(\?\S*)? HTTP\/1\.1\r\n/g;
  for (let match = request.exec(text); match; match = request.exec(text)) {
    const headEnd = text.indexOf("\r\n\r\n", match.index);
    const head = text.slice(match.index, headEnd).toLowerCase();
    let rest = text.slice(headEnd + 4);
    let body = "";
    const length = /content-length: (\d+)/.exec(head);
    if (length) body = rest.slice(0, Number(length[1]));
    else if (/transfer-encoding: chunked/.test(head)) {
      for (;;) {
        const lineEnd = rest.indexOf("\r\n");
        const size = parseInt(rest.slice(0, lineEnd), 16);
        if (!size) break;
        body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
        rest = rest.slice(lineEnd + 2 + size + 2);
      }
    }
    found.push({ path: match[0], body: JSON.parse(Buffer.from(body, "latin1").toString("utf8")) });
  }
  return found;
}

describe("whale bridge mode: the container the docker driver asks the engine for", function () {
  this.timeout(60_000);
  const sent: Buffer[] = [];
  const relay = new EngineRelay(`/tmp/flaghost-whale-bridge-${process.pid}-${randomUUID().slice(0, 8)}.sock`, (chunk) => void sent.push(chunk));
  let driver: EngineDriver;

  before(async () => {
    await removeContainersInRange(PORTS);
    await relay.listen();
    driver = createEngineDriver({ driver: "docker", dockerHost: `unix://${relay.path}` });
  });
  after(async () => {
    await driver?.close();
    await relay.close();
    await removeContainersInRange(PORTS);
  });

  it("exposes the challenge's port, publishes it on the allocated host port, and sets PORT to the container's port", async () => {
    const settings = containerSettings.parse({ image: FLAG_IMAGE, port: 8000, memory_mb: 64, cpus: 0.25 });
    const start = { id: randomUUID(), challengeId: 7, accountType: "user", accountId: 42, hostPort: PORTS[0] + 3, lifetimeS: 600 } as StartRecord;
    const spec = containerSpec({ start, attempt: 1, settings, network: "bridge", flag: "flag{bridge}" });
    // What whale hands the driver in bridge mode: the container listens on its own port, not the host's.
    expect(spec.env).to.deep.equal({ PORT: "8000", FLAG: "flag{bridge}" });
    expect(spec).to.include({ network: "bridge", containerPort: 8000, hostPort: PORTS[0] + 3 });

    const { id } = await driver.start(spec);
    try {
      const [create] = createBodies(Buffer.concat(sent));
      expect(create, "a create request went through the relay").to.not.equal(undefined);
      expect(create!.path).to.contain(`name=${spec.name}`);
      const body = create!.body;
      expect(body.Image).to.equal(FLAG_IMAGE);
      expect(body.Env).to.have.members(["PORT=8000", "FLAG=flag{bridge}"]);
      expect(body.ExposedPorts).to.deep.equal({ "8000/tcp": {} });
      expect(body.HostConfig.NetworkMode).to.equal("bridge");
      expect(body.HostConfig.PortBindings).to.deep.equal({ "8000/tcp": [{ HostPort: String(PORTS[0] + 3) }] });
      expect(body.HostConfig.Memory).to.equal(64 * 1024 * 1024);
      expect(body.HostConfig.MemorySwap).to.equal(64 * 1024 * 1024);
      expect(body.HostConfig.NanoCpus).to.equal(0.25e9);
      expect(body.Labels).to.include({ "flaghost.whale.start": start.id, "flaghost.whale.account": "user:42", "flaghost.whale.challenge": "7", "flaghost.whale.host-port": String(PORTS[0] + 3) });

      // The engine took it as asked (its own reading of the binding), and the driver reads the host port back.
      const info = await driver.inspect(id);
      expect(info.hostPort).to.equal(PORTS[0] + 3);
      expect(info.state).to.be.oneOf(["starting", "running", "exited"]);
    } finally {
      await driver.remove(id);
    }
    expect((await driver.inspect(id)).state).to.equal("missing");
  });
});
