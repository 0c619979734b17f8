import type { Logger } from "pino";
import { gameService, pageShellService, readService } from "../../core/ctf/service.js";
import { coreServices, definePlugin } from "../../core/kernel/plugin-host/api.js";
import { createAccess } from "./access.js";
import { GamePlatformClient } from "./client/client.js";
import { ATTEMPTS, metactfConfig, type MetactfConfig } from "./config.js";
import { platformIds } from "./ids.js";
import { migrations } from "./migrations.js";
import { dashboardPage } from "./page/dashboard.js";
import { coachRoutes } from "./routes/coaches.js";
import { competitorRoutes } from "./routes/competitors.js";
import { runRoutes } from "./routes/runs.js";
import { teamRoutes } from "./routes/teams.js";
import { createOnboarding } from "./services/onboarding.js";
import type { PlatformAccess } from "./services/platform.js";
import { createRunRecorder, type SyncWork } from "./services/runs.js";
import { createScoreSync } from "./services/scores.js";
import { createTeamSync } from "./services/teams.js";
import { createCompetitorStore } from "./store/competitors.js";
import { createRunStore, type SyncJob } from "./store/runs.js";
import { createScoreStore } from "./store/scores.js";
import { createTeamStore } from "./store/teams.js";

const MINUTE = 60_000;

/** The one place the token is read: the environment, never config files, logs or answers. */
export const TOKEN_VARIABLE = "METACTF_API_TOKEN";

/**
 * MetaCTF sync: competitors onboarded to the MetaCTF game platform by their coaches, team rosters mirrored there,
 * and ODL and Flash CTF scores pulled back incrementally within a small daily call budget (README.md).
 */
export default definePlugin({
  config: metactfConfig,
  migrations,
  deps: {
    db: coreServices.database,
    log: coreServices.logger,
    routes: coreServices.routes,
    jobs: coreServices.jobs,
    auth: coreServices.auth,
    host: coreServices.host,
    game: gameService,
    read: readService,
    pages: pageShellService,
  },

  create({ db, log, routes, jobs, auth, host, game, read, pages }, self) {
    const config = self.config;
    const platform = platformAccess(config, process.env[TOKEN_VARIABLE], log);
    if (platform.reason) self.health.degraded(platform.reason);

    const ids = platformIds(config.idPrefix);
    const competitors = createCompetitorStore(db);
    const teams = createTeamStore(db);
    const access = createAccess({ auth, game, read, competitors, teams });
    const runs = createRunStore(db);
    const scores = createScoreStore(db);
    const recordRun = createRunRecorder(runs, platform);
    const onboarding = createOnboarding({ competitors, read, platform, ids });
    const teamSync = createTeamSync({ teams, competitors, runs, read, platform, ids, log, rosterBatchSize: config.rosterBatchSize, fullCheckHours: config.rosterFullCheckHours });
    const scoreSync = createScoreSync({ scores, runs, ids, options: config });

    coachRoutes(routes, { auth, read, competitors });
    competitorRoutes(routes, { access, competitors, onboarding, scores });
    teamRoutes(routes, { access, teams, teamSync });
    runRoutes(routes, { access, auth, host, runs, scoreSync, teamSync });
    dashboardPage(routes, { access, pages, read, competitors, teams, scores, runs, onboarding, platformProblem: () => self.health.degradedReason });

    /** A sync job on the shared scheduler; every run (scheduled or on demand) is recorded in metactf_runs. */
    const syncJob = (job: SyncJob, cron: string, timeoutMs: number, work: SyncWork, options: { quietWhenIdle?: boolean } = {}) =>
      jobs.add({ id: job, cron, scope: "cluster", timeoutMs, run: ({ trigger, signal }) => recordRun(job, trigger, signal, work, options) });
    // Timeouts leave room for every call of a batch to use its three attempts against a slow platform.
    syncJob("odl", config.odlCron, 15 * MINUTE, (client, signal) => scoreSync.odlRun(client, signal));
    syncJob("totals", config.totalsCron, 5 * MINUTE, (client, signal) => scoreSync.totalsRun(client, signal));
    syncJob("flash", config.flashCron, 60 * MINUTE, (client, signal) => scoreSync.flashRun(client, signal));
    syncJob("roster", config.rosterCron, MINUTE, (client, signal) => teamSync.rosterRun(client, signal), { quietWhenIdle: true });
  },
});

/** The client, or the reason there is none (shown as the plugin's degraded status). */
function platformAccess(config: MetactfConfig, token: string | undefined, log: Logger): PlatformAccess {
  const missing = [!config.baseUrl && "plugins.metactf-sync.baseUrl is not set", !token && `${TOKEN_VARIABLE} is not set`].filter(Boolean);
  if (missing.length > 0) return { client: null, reason: `no game platform: ${missing.join(" and ")}` };
  const client = new GamePlatformClient({
    baseUrl: config.baseUrl!,
    token: token!,
    timeoutMs: config.timeoutMs,
    retryBaseMs: config.retryBaseMs,
    attempts: ATTEMPTS,
    maxRetryAfterMs: config.maxRetryAfterMs,
    log,
  });
  return { client, reason: null };
}
