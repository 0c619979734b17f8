import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Coordination } from "../coordination/types.js";
import type { PoolCounts } from "../db/data-source.js";
import type { Logger } from "../log.js";
import type { PluginState } from "../plugin-host/api.js";
import { UNMATCHED_ROUTE, type ConnectionObserver, type HandlerFailureObserver, type JobRunObserver, type RequestObserver, type RequestRecord } from "./observers.js";
import { PluginMetrics, MetricOwners } from "./plugin-metrics.js";

/** Every kernel metric starts with this; plugin metrics with `flaghost_<plugin>_`. */
export const METRIC_PREFIX = "flaghost_";

/** Request latency buckets in seconds: from a prepared answer (well under a millisecond) to a slow import. */
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

export interface MetricsDeps {
  log: Logger;
  /** Write one `request` line per request (config `log.accessLog`). */
  accessLog: boolean;
  coordination: Coordination;
  pluginStates: () => PluginState[];
  /** The database's connection counts, or null while it is not open. */
  poolCounts: () => PoolCounts | null;
  /** The queue streams of this kernel and their consumer group (queue depth and pending age are read on scrape). */
  queueStreams: () => Array<[stream: string, group: string]>;
}

/**
 * The metrics of one kernel, on its own prom-client Registry (never the global one: two kernels in one process
 * must not share or clash). The kernel's parts report through the observer interfaces; gauges of things that
 * exist elsewhere (queues, the connection pool, plugin states) are read when /metrics is scraped.
 */
export class Metrics implements RequestObserver, JobRunObserver, HandlerFailureObserver, ConnectionObserver {
  readonly registry = new Registry();
  private readonly owners = new MetricOwners(this.registry);
  /** Streams whose depth and oldest pending entry are reported: stream -> consumer group. */
  private readonly watchedStreams = new Map<string, string>();
  private readonly requests: Counter<"method" | "route" | "status">;
  private readonly requestSeconds: Histogram<"method" | "route">;
  private readonly jobRuns: Counter<"job" | "outcome">;
  private readonly jobSeconds: Histogram<"job">;
  private readonly handlerFailures: Counter<"plugin" | "event">;
  private readonly connections: Gauge<"channel">;

  constructor(private readonly deps: MetricsDeps) {
    const registers = [this.registry];
    this.requests = new Counter({ name: "flaghost_http_requests_total", help: "HTTP requests answered, by method, route pattern and status", labelNames: ["method", "route", "status"], registers });
    this.requestSeconds = new Histogram({ name: "flaghost_http_request_duration_seconds", help: "Time to answer an HTTP request", labelNames: ["method", "route"], buckets: HTTP_BUCKETS, registers });
    this.jobRuns = new Counter({ name: "flaghost_job_runs_total", help: "Recorded job runs by outcome", labelNames: ["job", "outcome"], registers });
    this.jobSeconds = new Histogram({ name: "flaghost_job_run_duration_seconds", help: "How long job runs took", labelNames: ["job"], buckets: JOB_BUCKETS, registers });
    this.handlerFailures = new Counter({ name: "flaghost_event_handler_failures_total", help: "Event handlers that threw, by the plugin that registered them", labelNames: ["plugin", "event"], registers });
    this.connections = new Gauge({ name: "flaghost_websocket_connections", help: "Open WebSocket connections by channel", labelNames: ["channel"], registers });
    this.defineScrapedGauges();
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    this.owners.claimRegistered("kernel");
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Reports `stream`'s length and the age of the oldest entry `group` has not acknowledged. */
  watchStream(stream: string, group: string): void {
    this.watchedStreams.set(stream, group);
  }

  /** The facade a plugin adds its own metrics through (names prefixed `flaghost_<plugin>_`). */
  forPlugin(pluginId: string): PluginMetrics {
    return new PluginMetrics(pluginId, this.owners);
  }

  /** Removes every metric a plugin added (it failed, stopped or is reloading). */
  removeOwner(pluginId: string): void {
    this.owners.removeOwner(pluginId);
  }

  requestFinished(record: RequestRecord): void {
    this.requests.labels(record.method, record.route, String(record.status)).inc();
    this.requestSeconds.labels(record.method, record.route).observe(record.durationMs / 1000);
    if (this.deps.accessLog) {
      const { requestId, method, route, path, status, durationMs } = record;
      // The path only when no pattern says more: a matched path's parameters may one day hold a secret (a reset link).
      const where = route === UNMATCHED_ROUTE ? { route, path } : { route };
      this.deps.log.info({ reqId: requestId, method, ...where, status, durationMs: Math.round(durationMs * 1000) / 1000 }, "request");
    }
  }

  jobRunFinished(job: string, outcome: string, durationMs: number | null): void {
    this.jobRuns.labels(job, outcome).inc();
    if (durationMs !== null) this.jobSeconds.labels(job).observe(durationMs / 1000);
  }

  handlerFailed(plugin: string, event: string): void {
    this.handlerFailures.labels(plugin, event).inc();
  }

  connectionOpened(channel: string): void {
    this.connections.labels(channel).inc();
  }

  connectionClosed(channel: string): void {
    this.connections.labels(channel).dec();
  }

  /** Gauges read at scrape time from where the truth lives. */
  private defineScrapedGauges(): void {
    const registers = [this.registry];
    const { coordination, log } = this.deps;
    const streams = () => [...new Map([...this.deps.queueStreams(), ...this.watchedStreams])];
    const queueDepth: Gauge<"stream"> = new Gauge({
      name: "flaghost_queue_depth",
      help: "Entries in a watched stream",
      labelNames: ["stream"],
      registers,
      collect: async () => {
        queueDepth.reset();
        for (const [stream] of streams()) {
          try {
            queueDepth.labels(stream).set(await coordination.streamLength(stream));
          } catch (error) {
            log.warn({ err: error, stream }, "metrics: could not read a stream's length");
          }
        }
      },
    });
    const oldestPending: Gauge<"stream"> = new Gauge({
      name: "flaghost_queue_oldest_pending_seconds",
      help: "Age of the oldest entry of a watched stream its consumer group has not acknowledged (0 when none)",
      labelNames: ["stream"],
      registers,
      collect: async () => {
        oldestPending.reset();
        for (const [stream, group] of streams()) {
          try {
            const { oldestId } = await coordination.streamPending(stream, group);
            const addedAt = oldestId === null ? null : Number(oldestId.split("-")[0]);
            oldestPending.labels(stream).set(addedAt === null ? 0 : Math.max(0, (Date.now() - addedAt) / 1000));
          } catch (error) {
            log.warn({ err: error, stream }, "metrics: could not read a stream's pending entries");
          }
        }
      },
    });
    const pool: Gauge<"state"> = new Gauge({
      name: "flaghost_db_pool_connections",
      help: "Connections of the raw query pool in use, idle, and queries waiting for one",
      labelNames: ["state"],
      registers,
      collect: () => {
        pool.reset();
        const counts = this.deps.poolCounts();
        if (!counts) return;
        pool.labels("in_use").set(counts.inUse);
        pool.labels("idle").set(counts.idle);
        pool.labels("waiting").set(counts.waiting);
      },
    });
    const pluginStatus: Gauge<"plugin" | "status"> = new Gauge({
      name: "flaghost_plugin_status",
      help: "1 for each plugin's current status",
      labelNames: ["plugin", "status"],
      registers,
      collect: () => {
        pluginStatus.reset();
        for (const state of this.deps.pluginStates()) pluginStatus.labels(state.id, state.status).set(1);
      },
    });
  }
}
