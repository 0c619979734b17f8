/**
 * The `swarm` driver: one service with one replica per start on a Docker Swarm, placed by the swarm. The service
 * and its container carry the caller's labels plus `flaghost.whale.host-port`; the state comes from the service's
 * task (the swarm never restarts it: restart policy none, so a failure stays visible as `exited` with its reason).
 *
 * Networks: `host` attaches the task to the swarm's `host` network (the container listens on the allocated port of
 * whatever node runs it); `bridge` publishes the port through the routing mesh, so every node answers on it.
 */
import type Docker from "dockerode";
import { connect, engineCall, engineStatus, hostPortLabel, labelFilters, pingEngine, swarmServiceLabel, translate } from "./connection.js";
import { EngineUnavailableError, type ContainerInfo, type ContainerSpec, type ContainerState, type EngineDriver } from "./types.js";

/** The part of a swarm task this driver reads (dockerode types tasks as `any`). */
interface SwarmTask {
  ServiceID: string;
  CreatedAt: string;
  Status?: { State?: string; Err?: string; Message?: string; ContainerStatus?: { ExitCode?: number } };
}

/** How long `remove` keeps removing the service's containers on this node, so their host port is free again. */
const removeWaitMs = 15_000;

export function createSwarmDriver(options: { dockerHost?: string }): EngineDriver {
  const connection = connect(options.dockerHost);
  const { docker } = connection;

  /** The engine answers and is a manager of an active swarm (services can only be created on a manager). */
  async function ping(): Promise<void> {
    await pingEngine(connection);
    const info = await engineCall(connection, "info", () => connection.pingClient.info());
    const swarm = info.Swarm ?? {};
    if (swarm.LocalNodeState !== "active" || !swarm.ControlAvailable) {
      throw new EngineUnavailableError(
        `Docker engine at ${connection.where} is not a swarm manager (swarm ${swarm.LocalNodeState ?? "state unknown"}): ` +
          "run docker swarm init there, point plugins.whale.dockerHost at a manager, or use driver docker",
      );
    }
  }

  async function start(spec: ContainerSpec): Promise<{ id: string }> {
    const service = await engineCall(connection, `create service ${spec.name}`, () => docker.createService(serviceSpec(spec)));
    return { id: service.id };
  }

  async function inspect(id: string): Promise<ContainerInfo> {
    let service: Docker.Service;
    try {
      service = await docker.getService(id).inspect();
    } catch (error) {
      if (engineStatus(error) === 404) return { id, name: "", labels: {}, state: "missing", hostPort: null, error: null };
      throw translate(connection, `inspect service ${id}`, error);
    }
    const tasks = await tasksOf([service.ID]);
    return infoOf(service, tasks.get(service.ID) ?? []);
  }

  async function remove(id: string): Promise<void> {
    try {
      await docker.getService(id).remove();
    } catch (error) {
      if (engineStatus(error) === 404) return; // already gone
      throw translate(connection, `remove service ${id}`, error);
    }
    await removeContainersOnThisNode(id);
  }

  /**
   * The swarm stops a removed service's container some seconds later (about 5 s here); with host networking its
   * port stays taken until then. Removes the service's containers on this node at once (the swarm's own clean-up
   * then finds them gone), and waits, bounded, until none is left, so a caller can reuse the port.
   */
  async function removeContainersOnThisNode(serviceId: string): Promise<void> {
    const ofService = { all: true, filters: { label: [`${swarmServiceLabel}=${serviceId}`] } };
    const deadline = Date.now() + removeWaitMs;
    for (;;) {
      const left = await engineCall(connection, `list containers of service ${serviceId}`, () => docker.listContainers(ofService));
      if (left.length === 0 || Date.now() > deadline) return;
      await Promise.all(left.map((container) => removeContainer(container.Id)));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function removeContainer(id: string): Promise<void> {
    try {
      await docker.getContainer(id).remove({ force: true });
    } catch (error) {
      const status = engineStatus(error);
      if (status === 404 || status === 409) return; // gone already, or the swarm is removing it
      throw translate(connection, `remove container ${id}`, error);
    }
  }

  async function list(labels: Record<string, string | true>): Promise<ContainerInfo[]> {
    const services = await engineCall(connection, "list services", () => docker.listServices({ filters: { label: labelFilters(labels) } }));
    if (services.length === 0) return [];
    const tasks = await tasksOf(services.map((s) => s.ID));
    return services.map((service) => infoOf(service, tasks.get(service.ID) ?? []));
  }

  /** The tasks of these services, by service id, in one call. */
  async function tasksOf(serviceIds: string[]): Promise<Map<string, SwarmTask[]>> {
    const tasks: SwarmTask[] = await engineCall(connection, "list tasks", () => docker.listTasks({ filters: { service: serviceIds } }));
    const byService = new Map<string, SwarmTask[]>();
    for (const task of tasks) byService.set(task.ServiceID, [...(byService.get(task.ServiceID) ?? []), task]);
    return byService;
  }

  return { kind: "swarm", ping, start, inspect, remove, list, close: async () => undefined };
}

function serviceSpec(spec: ContainerSpec): Docker.CreateServiceOptions {
  const labels = { ...spec.labels, [hostPortLabel]: String(spec.hostPort) };
  return {
    Name: spec.name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        // `command` replaces the image's CMD, as `docker run image cmd…` does (Command would replace the entrypoint).
        ...(spec.command ? { Args: spec.command } : {}),
        Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
        Labels: labels,
        StopGracePeriod: 0, // removal is a forced stop, as on the docker driver
      },
      Resources: { Limits: { MemoryBytes: spec.memoryMb * 1024 * 1024, NanoCPUs: Math.round(spec.cpus * 1e9) } },
      RestartPolicy: { Condition: "none" },
      ...(spec.network === "host" ? { Networks: [{ Target: "host" }] } : {}),
    },
    Mode: { Replicated: { Replicas: 1 } },
    ...(spec.network === "bridge"
      ? { EndpointSpec: { Ports: [{ Protocol: "tcp", TargetPort: spec.containerPort, PublishedPort: spec.hostPort, PublishMode: "ingress" }] } }
      : {}),
  };
}

function infoOf(service: Docker.Service, tasks: SwarmTask[]): ContainerInfo {
  const labels = service.Spec?.Labels ?? {};
  const port = Number(labels[hostPortLabel]);
  // One replica that is never restarted: the newest task is the service's state.
  const task = [...tasks].sort((a, b) => b.CreatedAt.localeCompare(a.CreatedAt))[0];
  const state = task ? taskState(task.Status?.State) : "starting";
  return {
    id: service.ID,
    name: service.Spec?.Name ?? "",
    labels,
    state,
    hostPort: Number.isInteger(port) && port > 0 ? port : null,
    error: task ? reasonOf(state, task) : null,
  };
}

/** Swarm task states (new … running, then complete, failed, rejected, shutdown, orphaned, remove). */
function taskState(state: string | undefined): ContainerState {
  switch (state) {
    case "running":
      return "running";
    case "new":
    case "allocated":
    case "pending":
    case "assigned":
    case "accepted":
    case "preparing":
    case "ready":
    case "starting":
    case undefined:
      return "starting";
    default:
      return "exited";
  }
}

function reasonOf(state: ContainerState, task: SwarmTask): string | null {
  if (state === "exited") return taskError(task);
  if (state === "starting") return task.Status?.Err ?? null; // what holds it up, when the swarm says (e.g. "no suitable node")
  return null;
}

function taskError(task: SwarmTask): string {
  const status = task.Status ?? {};
  if (status.Err) return status.Err;
  const code = status.ContainerStatus?.ExitCode;
  if (typeof code === "number") return `exited with code ${code}`;
  return `task ${status.State ?? "ended"}${status.Message ? `: ${status.Message}` : ""}`;
}
