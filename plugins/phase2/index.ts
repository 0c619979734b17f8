import { gameService, pageShellService, readService } from "../../core/ctf/service.js";
import { coreServices, definePlugin } from "../../core/kernel/plugin-host/api.js";
import { bloodEvents } from "./blood-events.js";
import { Bloods } from "./bloods.js";
import { phase2Config } from "./config.js";
import { phase2Migrations } from "./migrations.js";
import { boardRoutes } from "./routes/board.js";
import { statusRoutes } from "./routes/status.js";

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

    void jobs;
    void auth;
    void pages;
    return {};
  },
});
