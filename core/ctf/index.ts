import { definePlugin } from "../kernel/plugin-host/api.js";
import { ctfConfig } from "./config.js";
import { dynamicType, standardType } from "./game/challenge-types.js";
import { regexFlag, staticFlag } from "./game/flag-verifiers.js";
import { ctfMigrations } from "./migrations.js";
import { createReadService } from "./read-service.js";
import { Ctf } from "./runtime.js";
import type { GameService } from "./service.js";
import { authRoutes } from "./api/auth.js";
import { awardsRoutes } from "./api/awards.js";
import { challengesRoutes } from "./api/challenges.js";
import { flagsRoutes } from "./api/flags.js";
import { hintsRoutes } from "./api/hints.js";
import { importRoutes } from "./api/import.js";
import { liveEventRoutes } from "./api/live-events.js";
import { notificationsRoutes } from "./api/notifications.js";
import { teamsRoutes } from "./api/teams.js";
import { tokensRoutes } from "./api/tokens.js";
import { usersRoutes } from "./api/users.js";
import { createPageShell, pageRoutes } from "./pages/routes.js";

/**
 * core/ctf, loaded by the kernel as the built-in plugin `ctf` (default pluginPaths: core/ctf, plugins/*).
 * Route modules live in api/ (JSON, CTFd shapes) and pages/ (HTML); the game logic in game/ and accounts/.
 */
let running: Ctf | null = null;

export default definePlugin({
  config: ctfConfig,
  migrations: ctfMigrations,

  register(plugin) {
    const ctf = new Ctf(plugin);
    running = ctf;
    plugin.auth.addResolver(ctf.auth.resolver);
    // Cached callers and settings must not outlive a change on any instance.
    plugin.events.on("account.updated", () => ctf.auth.invalidate());
    plugin.events.on("event.updated", () => {
      ctf.settings.invalidate();
      ctf.challenges.invalidate(); // an import replaces every challenge
    });
    plugin.events.on("challenge.updated", () => ctf.challenges.invalidate());
    for (const type of [standardType, dynamicType]) ctf.challengeTypes.set(type.id, type);
    for (const verifier of [staticFlag, regexFlag]) ctf.flagVerifiers.set(verifier.type, verifier);

    const game: GameService = {
      settings: () => ctf.settings.get(),
      player: (ctx) => ctf.player(ctx),
      addChallengeType: (type) => void ctf.challengeTypes.set(type.id, type),
      addFlagVerifier: (verifier) => void ctf.flagVerifiers.set(verifier.type, verifier),
    };
    plugin.services.provide("game", game);

    const shell = createPageShell(ctf);
    plugin.services.provide("pages", shell);
    plugin.services.provide("read", createReadService(plugin.db));

    const apiModules = [authRoutes, challengesRoutes, flagsRoutes, hintsRoutes, usersRoutes, teamsRoutes, awardsRoutes, notificationsRoutes, tokensRoutes, importRoutes, liveEventRoutes];
    for (const addRoutes of apiModules) addRoutes(plugin.routes, ctf);
    pageRoutes(plugin.routes, ctf, shell);
  },

  stop() {
    running?.stop();
    running = null;
  },
});
