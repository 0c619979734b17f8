import { gameService, pageShellService, readService } from "../../core/ctf/service.js";
import { coreServices, definePlugin } from "../../core/kernel/plugin-host/api.js";
import { containerChallengeType } from "./challenge-type.js";
import { whaleConfig } from "./config.js";
import type { Whale } from "./context.js";
import { createEngineDriver } from "./engine/index.js";
import { EngineHealth } from "./engine-health.js";
import { dynamicFlagVerifier } from "./flags.js";
import { reapExpired, reconcile, requeueUntaken } from "./jobs.js";
import { whaleMetrics } from "./metrics.js";
import { whaleMigrations } from "./migrations.js";
import { whalePages } from "./pages.js";
import { START_QUEUE, whaleRoutes } from "./routes.js";
import "./service.js";
import { startWorker } from "./start-worker.js";
import { StartStore } from "./starts.js";

/** Held (not released) so that processes reconnecting a moment later do not queue the same starts again. */
const REQUEUE_LOCK_MS = 10_000;

/**
 * whale: container challenges. A start request is checked and written as `queued` by the web request, which answers
 * 202 at once; queue workers (role `worker` or `all`) create the container, wait until it answers and write the
 * status players poll. Jobs stop expired containers and keep the records and the engine in agreement.
 */
export default definePlugin({
  config: whaleConfig,
  migrations: whaleMigrations,
  deps: {
    game: gameService,
    read: readService,
    pages: pageShellService,
    db: coreServices.database,
    log: coreServices.logger,
    routes: coreServices.routes,
    auth: coreServices.auth,
    jobs: coreServices.jobs,
    queues: coreServices.queues,
    events: coreServices.events,
    metrics: coreServices.metrics,
    coordination: coreServices.coordination,
  },

  create({ game, read, pages, db, log, routes, auth, jobs, queues, events, metrics, coordination }, self) {
    const { config } = self;
    const engine = createEngineDriver({ driver: config.driver, dockerHost: config.dockerHost });
    let secret: string | null = config.flagSecret ?? null;
    const whale: Whale = {
      config,
      store: new StartStore(db),
      engine,
      health: new EngineHealth(engine, self.health),
      read,
      events,
      metrics: whaleMetrics(metrics),
      log,
      secret() {
        if (secret === null) throw new Error("whale: the flag secret is read in init; nothing may derive a flag before");
        return secret;
      },
    };

    game.addChallengeType(containerChallengeType());
    game.addFlagVerifier(dynamicFlagVerifier(whale.secret, (event) => events.emit("flag.reused", event, { broadcast: true })));
    queues.define({ name: START_QUEUE, handler: startWorker(whale), concurrency: config.consumers, claimStaleAfterMs: config.claimStaleAfterS * 1000, maxDeliveries: 5 });
    whaleRoutes({ routes, auth, game, queues }, whale);
    whalePages({ routes, auth, pages });

    jobs.add({ id: "reap", cron: "*/30 * * * * *", scope: "cluster", run: (run) => reapExpired(whale, run) });
    const enqueue = (startId: string) => queues.add(START_QUEUE, { startId });
    jobs.add({ id: "reconcile", cron: "*/5 * * * *", scope: "cluster", run: () => reconcile(whale, enqueue) });

    // Redis is back: a restart took the start queue with it, and every start answered 202 must still happen. One
    // process re-queues (the lock; a few duplicates would be harmless anyway, see StartStore.take).
    events.on("kernel.coordination.restored", async () => {
      const lock = await coordination.acquireLock("whale.requeue", REQUEUE_LOCK_MS);
      if (!lock) return;
      const requeued = await requeueUntaken(whale, enqueue, 0);
      if (requeued > 0) log.warn({ requeued }, "Redis reconnected: queued starts no worker had taken are queued again");
    });

    async function refreshGauges(): Promise<void> {
      const counts = await whale.store.countsByStatus();
      whale.metrics.queueDepth.set(counts.queued ?? 0);
      whale.metrics.running.set(counts.ready ?? 0);
    }
    let gaugeTimer: NodeJS.Timeout | null = null;

    return {
      async init() {
        await whale.store.provision(config);
        secret ??= await whale.store.secret();
        // Boot reconciliation of ports and containers, when the engine answers; a missing engine only degrades whale.
        if (await whale.health.check()) {
          const result = await reconcile(whale).catch((error: unknown) => {
            whale.health.noticed(error);
            log.warn({ err: error }, "boot reconciliation failed");
            return null;
          });
          if (result && result.removed + result.failed + result.released > 0) log.info(result, "boot reconciliation");
        }
      },
      start() {
        whale.health.watch(config.healthCheckS * 1000);
        gaugeTimer = setInterval(() => void refreshGauges().catch(() => undefined), 5_000);
        gaugeTimer.unref();
      },
      async stop() {
        whale.health.stop();
        if (gaugeTimer) clearInterval(gaugeTimer);
        await engine.close();
      },
    };
  },
});
