/**
 * The `docker` driver: one container per start on a single Docker engine, through dockerode.
 * The container carries the caller's labels plus `flaghost.whale.host-port`, so `list` and `inspect` can say where it
 * listens whatever its network mode.
 */
import type Docker from "dockerode";
import { connect, engineCall, engineStatus, hostPortLabel, labelFilters, pingEngine, swarmServiceLabel, translate, type EngineConnection } from "./connection.js";
import type { ContainerInfo, ContainerSpec, ContainerState, EngineDriver } from "./types.js";

export function createDockerDriver(options: { dockerHost?: string }): EngineDriver {
  const connection = connect(options.dockerHost);
  const { docker } = connection;

  async function ping(): Promise<void> {
    await pingEngine(connection);
  }

  async function start(spec: ContainerSpec): Promise<{ id: string }> {
    const create = () => engineCall(connection, `create ${spec.name}`, () => docker.createContainer(createOptions(spec)));
    let container: Docker.Container;
    try {
      container = await create();
    } catch (error) {
      if (engineStatus(error) !== 404) throw error; // 404 on create: the image is not here yet
      await engineCall(connection, `pull ${spec.image}`, () => pullImage(connection, spec.image));
      container = await create();
    }
    try {
      await engineCall(connection, `start ${spec.name}`, () => container.start());
    } catch (error) {
      // A container that cannot start is of no use to anyone: do not leave it behind.
      await remove(container.id).catch(() => undefined);
      throw error;
    }
    return { id: container.id };
  }

  async function inspect(id: string): Promise<ContainerInfo> {
    try {
      const details = await docker.getContainer(id).inspect();
      return infoFromInspect(details);
    } catch (error) {
      if (engineStatus(error) === 404) return { id, name: "", labels: {}, state: "missing", hostPort: null, error: null };
      throw translate(connection, `inspect ${id}`, error);
    }
  }

  async function remove(id: string): Promise<void> {
    try {
      await docker.getContainer(id).remove({ force: true });
    } catch (error) {
      // 404: already gone; 409: a removal of it is already under way. Both end where the caller wants.
      const status = engineStatus(error);
      if (status === 404 || status === 409) return;
      throw translate(connection, `remove ${id}`, error);
    }
  }

  async function list(labels: Record<string, string | true>): Promise<ContainerInfo[]> {
    const found = await engineCall(connection, "list containers", () =>
      docker.listContainers({ all: true, filters: { label: labelFilters(labels) } }),
    );
    // A swarm task's container carries the same labels, but belongs to the swarm driver's service: not ours.
    const ours = found.filter((summary) => !summary.Labels?.[swarmServiceLabel]);
    // The summary lacks the reason an exited container gives; inspect those (few), take the rest as listed.
    return Promise.all(ours.map((summary) => (summary.State === "running" ? infoFromSummary(summary) : inspect(summary.Id))));
  }

  return { kind: "docker", ping, start, inspect, remove, list, close: async () => undefined };
}

function createOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  const port = `${spec.containerPort}/tcp`;
  const bridge = spec.network === "bridge";
  return {
    name: spec.name,
    Image: spec.image,
    ...(spec.command ? { Cmd: spec.command } : {}),
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...spec.labels, [hostPortLabel]: String(spec.hostPort) },
    ...(bridge ? { ExposedPorts: { [port]: {} } } : {}),
    HostConfig: {
      NetworkMode: spec.network,
      ...(bridge ? { PortBindings: { [port]: [{ HostPort: String(spec.hostPort) }] } } : {}),
      Memory: spec.memoryMb * 1024 * 1024,
      MemorySwap: spec.memoryMb * 1024 * 1024, // no swap beyond the limit
      NanoCpus: Math.round(spec.cpus * 1e9),
      RestartPolicy: { Name: "no" },
    },
  };
}

/** Pulls an image the engine lacks; a registry's refusal (no such repository, no access) becomes the Error. */
async function pullImage(connection: EngineConnection, image: string): Promise<void> {
  const stream = await connection.docker.pull(image);
  await new Promise<void>((resolve, reject) => {
    connection.docker.modem.followProgress(stream, (error: unknown, output: Array<{ error?: string }>) => {
      const failed = output?.find((event) => event.error);
      if (error) reject(error);
      else if (failed) reject(Object.assign(new Error(failed.error), { statusCode: 404 }));
      else resolve();
    });
  });
}

function stateOf(status: string | undefined): ContainerState {
  switch (status) {
    case "running":
    case "paused":
      return "running";
    case "created":
    case "restarting":
      return "starting";
    default:
      return "exited"; // exited, dead, removing
  }
}

function hostPortFrom(labels: Record<string, string> | undefined): number | null {
  const value = Number(labels?.[hostPortLabel]);
  return Number.isInteger(value) && value > 0 ? value : null;
}

function infoFromInspect(details: Docker.ContainerInspectInfo): ContainerInfo {
  const state = stateOf(details.State.Status);
  return {
    id: details.Id,
    name: details.Name.replace(/^\//, ""),
    labels: details.Config.Labels ?? {},
    state,
    hostPort: hostPortFrom(details.Config.Labels),
    error: state === "exited" ? exitReason(details.State) : null,
  };
}

function exitReason(state: Docker.ContainerInspectInfo["State"]): string {
  if (state.OOMKilled) return "killed: out of memory (raise memory_mb)";
  if (state.Error) return state.Error;
  return `exited with code ${state.ExitCode}`;
}

function infoFromSummary(summary: Docker.ContainerInfo): ContainerInfo {
  return {
    id: summary.Id,
    name: (summary.Names[0] ?? "").replace(/^\//, ""),
    labels: summary.Labels ?? {},
    state: stateOf(summary.State),
    hostPort: hostPortFrom(summary.Labels),
    error: null,
  };
}
