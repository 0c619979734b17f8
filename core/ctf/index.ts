import { coreServices, definePlugin, provide } from "../kernel/plugin-host/api.js";
import { ctfRetentionJob } from "./accounts/retention.js";
import { ctfConfig } from "./config.js";
import { assertChallengeOpen } from "./game/challenge-access.js";
import { dynamicType, standardType } from "./game/challenge-types.js";
import { regexFlag, staticFlag } from "./game/flag-verifiers.js";
import { ctfMigrations } from "./migrations.js";
import { createReadService } from "./read-service.js";
import { readModelCheckJob, readModelHandlers } from "./read-models.js";
import { Ctf } from "./runtime.js";
import { gameService, pageShellService, readService, type GameService } from "./service.js";
import { authRoutes, warnIfSetupIsOpen } from "./api/auth.js";
import { awardsRoutes } from "./api/awards.js";
import { challengesRoutes } from "./api/challenges.js";
import { flagsRoutes } from "./api/flags.js";
import { hintsRoutes } from "./api/hints.js";
import { importRoutes } from "./api/import.js";
import { liveEventRoutes } from "./api/live-events.js";
import { createNotification, notificationsRoutes } from "./api/notifications.js";
import { teamsRoutes } from "./api/teams.js";
import { tokensRoutes } from "./api/tokens.js";
import { usersRoutes } from "./api/users.js";
import { createPageShell, pageRoutes } from "./pages/routes.js";

const API_MODULES = [authRoutes, challengesRoutes, flagsRoutes, hintsRoutes, usersRoutes, teamsRoutes, awardsRoutes, notificationsRoutes, tokensRoutes, importRoutes];

/**
 * core/ctf, loaded by the kernel as the built-in plugin `ctf` (default pluginPaths: core/ctf, plugins/*).
 * Route modules live in api/ (JSON, CTFd shapes) and pages/ (HTML); the game logic in game/ and accounts/.
 */
export default definePlugin({
  config: ctfConfig,
  migrations: ctfMigrations,
  deps: {
    db: coreServices.database,
    coordination: coreServices.coordination,
    host: coreServices.host,
    log: coreServices.logger,
    routes: coreServices.routes,
    events: coreServices.events,
    auth: coreServices.auth,
    connections: coreServices.connections,
    jobs: coreServices.jobs,
  },

  create({ routes, auth, connections, jobs, ...deps }, { config }) {
    const ctf = new Ctf({ ...deps, auth, config });
    jobs.add(ctfRetentionJob(deps.db, config.retentionDays));
    auth.addResolver(ctf.auth.resolver);
    // Cached callers and settings must not outlive a change on any instance (nor the write's answer, here).
    const servesReads = { servesReads: true };
    deps.events.on("account.updated", () => ctf.auth.invalidate(), servesReads);
    deps.events.on(
      "event.updated",
      () => {
        ctf.settings.invalidate();
        ctf.challenges.invalidate(); // an import replaces every challenge
      },
      servesReads,
    );
    deps.events.on("challenge.updated", (update) => ctf.challenges.changed(update), servesReads);
    ctf.onStop(() => ctf.challenges.close());
    // Broadcasts were missed: an instance died between a commit and its broadcast (a ban, a hidden challenge), or
    // this instance's Redis connection was away. Nothing cached here may outlive a change this instance never heard of.
    const forgetCaches = () => {
      ctf.auth.invalidate();
      ctf.settings.invalidate();
      ctf.challenges.invalidate();
    };
    deps.events.on("kernel.instances.lost", forgetCaches);
    deps.events.on("kernel.coordination.restored", forgetCaches);
    readModelHandlers(ctf, deps.events);
    jobs.add(readModelCheckJob(ctf, deps.events));
    for (const type of [standardType, dynamicType]) ctf.challengeTypes.set(type.id, type);
    for (const verifier of [staticFlag, regexFlag()]) ctf.flagVerifiers.set(verifier.type, verifier);

    const game: GameService = {
      settings: () => ctf.settings.get(),
      player: (ctx) => ctf.player(ctx),
      assertChallengeOpen: async (player, challengeId) => {
        await assertChallengeOpen(ctf, { player, admin: player.admin }, await ctf.challenges.get(challengeId), "No such challenge");
      },
      addChallengeType: (type) => void ctf.challengeTypes.set(type.id, type),
      addFlagVerifier: (verifier) => void ctf.flagVerifiers.set(verifier.type, verifier),
      useStandings: (source) => {
        ctf.standings = source;
        return () => {
          if (ctf.standings === source) ctf.standings = null;
        };
      },
      notify: async ({ title, content, type = "toast", sound = true }) => {
        const view = await createNotification(ctf, { title, content, type, sound });
        return { id: Number(view.id) };
      },
    };
    const shell = createPageShell(ctf);
    for (const addRoutes of API_MODULES) addRoutes(routes, ctf);
    liveEventRoutes(routes, ctf, connections);
    pageRoutes(routes, ctf, shell);

    return {
      provides: [provide(gameService, game), provide(pageShellService, shell), provide(readService, createReadService(deps.db))],
      init: async () => {
        await Promise.all([ctf.solves.rebuild(), ctf.listedAccounts.refresh()]);
      },
      start: () => warnIfSetupIsOpen(ctf),
      stop: () => ctf.stop(),
    };
  },
});
