import type { PluginMetrics } from "../../core/kernel/metrics/plugin-metrics.js";

/** whale's figures in /metrics (`flaghost_whale_*`). */
export function whaleMetrics(metrics: PluginMetrics) {
  return {
    starts: metrics.counter<"outcome">({ name: "starts_total", help: "Starts finished, by outcome (ready, failed, stopped while starting)", labelNames: ["outcome"] }),
    startSeconds: metrics.histogram({
      name: "start_duration_seconds",
      help: "From the start request to the container answering on its port (queue wait included)",
      buckets: [0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 55],
    }),
    queueWaitSeconds: metrics.histogram({
      name: "queue_wait_seconds",
      help: "From the start request until a worker took it",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    }),
    queueDepth: metrics.gauge({ name: "queue_depth", help: "Starts queued and not yet taken by a worker" }),
    running: metrics.gauge({ name: "running_containers", help: "Containers ready for their players" }),
  };
}

export type WhaleMetrics = ReturnType<typeof whaleMetrics>;
