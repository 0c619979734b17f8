import { gameService, pageShellService, readService } from "../../core/ctf/service.js";
import { coreServices, definePlugin } from "../../core/kernel/plugin-host/api.js";
import type { ContainerEvent } from "../whale/service.js"; // with the flag.reused and container.* event types (whale is optional)
import { runAnalytics } from "./analytics-job.js";
import { AnalyticsStore } from "./analytics.js";
import { bloodEvents, reconcileBloods } from "./blood-events.js";
import { Bloods } from "./bloods.js";
import { phase2Config } from "./config.js";
import { cleanup } from "./cleanup.js";
import { Consent } from "./consent.js";
import { Health } from "./health.js";
import { phase2Migrations } from "./migrations.js";
import { phase2Pages } from "./pages.js";
import { analyticsRoutes } from "./routes/analytics.js";
import { boardRoutes } from "./routes/board.js";
import { consentRoutes } from "./routes/consent.js";
import { healthRoutes } from "./routes/health.js";
import { reviewRoutes } from "./routes/review.js";
import { statusRoutes } from "./routes/status.js";
import { AddressHasher } from "./suspicion/address.js";
import { flagReused } from "./suspicion/detectors.js";
import { Findings } from "./suspicion/findings.js";

/**
 * phase2: bloods decided by the database, flag-sharing suspicion with an insert-only review history, challenge
 * health and live analytics. Each feature has a switch (`plugins.phase2.bloods|suspicion|health|analytics`).
 */
export default definePlugin({
  config: phase2Config,
  migrations: phase2Migrations,
  deps: {
    db: coreServices.database,
    coordination: coreServices.coordination,
    log: coreServices.logger,
    routes: coreServices.routes,
    events: coreServices.events,
    jobs: coreServices.jobs,
    auth: coreServices.auth,
    read: readService,
    game: gameService,
    pages: pageShellService,
  },

  create({ db, coordination, log, routes, events, jobs, auth, read, game, pages }, { config }) {
    const on = {
      bloods: () => config.bloods,
      suspicion: () => config.suspicion,
      health: () => config.health,
      analytics: () => config.analytics,
    };

    const bloods = new Bloods(db, read, coordination, config.prestige);
    bloodEvents({ events, read, game, log }, bloods, on.bloods);
    boardRoutes(routes, bloods, coordination, config.boardRateLimit, on.bloods);
    statusRoutes(routes, config);

    const findings = new Findings(db);
    const consent = new Consent(db);
    const addresses = new AddressHasher(db, config.addressSalt);
    const analytics = new AnalyticsStore(db);
    const analyticsDeps = { read, findings, store: analytics, consent, addresses, config, reconcileBloods: (ids: number[]) => reconcileBloods({ events, game }, bloods, ids) };
    reviewRoutes(routes, auth, findings);
    consentRoutes(routes, game, consent);
    analyticsRoutes(routes, auth, analytics);
    jobs.add({ id: "analytics", cron: config.analyticsCron, scope: "cluster", timeoutMs: 25_000, run: ({ signal, log: runLog }) => runAnalytics(analyticsDeps, { signal, log: runLog }) });

    // whale's certain evidence: written once, by the instance that judged the attempt.
    events.on("flag.reused", async function recordFlagReuse(event, meta) {
      if (!meta.local || !on.suspicion()) return;
      const draft = flagReused(event, { config, hashAddress: (a) => addresses.hash(a), consented: () => false });
      if (draft) await findings.record(event.accountType, [draft]);
    });

    const health = new Health(db, read, config);
    healthRoutes(routes, auth, health);
    jobs.add({
      id: "health",
      cron: config.healthCron,
      scope: "cluster",
      run: ({ signal, log: runLog }) => (config.health ? health.run(runLog, signal) : { skipped: "plugins.phase2.health is off" }),
    });
    // whale's container outcomes, counted once (by the instance that saw them).
    const containerOutcome = (outcome: "ready" | "failed") =>
      async function countContainer(event: ContainerEvent, meta: { local: boolean }) {
        if (meta.local && on.health()) await health.containerOutcome(event.challengeId, outcome, new Date(event.date));
      };
    events.on("container.ready", containerOutcome("ready"));
    events.on("container.failed", containerOutcome("failed"));

    jobs.add({ id: "cleanup", cron: config.cleanupCron, scope: "cluster", run: () => cleanup(db, config.retentionDays) });

    phase2Pages(routes, pages, auth);
    return {
      init: () => addresses.load(),
    };
  },
});
