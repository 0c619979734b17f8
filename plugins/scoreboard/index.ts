import { gameService, pageShellService, readService } from "../../core/ctf/service.js";
import { coreServices, definePlugin } from "../../core/kernel/plugin-host/api.js";
import { Scoreboard } from "./board.js";
import { scoreboardConfig } from "./config.js";
import { scoreboardPage } from "./page.js";
import { scoreboardRoutes } from "./routes.js";
import "./service.js"; // the scoreboard.announce event type
import { ScoreStream, STREAM_PATH } from "./stream.js";

/** Asks every other instance to rebuild (admin request) or to check itself (the consistency job). */
declare module "../../core/kernel/events.js" {
  interface EventMap {
    "scoreboard.rebuild": Record<string, never>;
    "scoreboard.check": Record<string, never>;
  }
}

/**
 * The scoreboard: an in-memory standings engine per instance (board.ts explains the design), CTFd's
 * scoreboard API, a live WebSocket stream, the /scoreboard page and a cluster-wide consistency job.
 */
export default definePlugin({
  config: scoreboardConfig,
  deps: {
    read: readService,
    game: gameService,
    log: coreServices.logger,
    routes: coreServices.routes,
    events: coreServices.events,
    jobs: coreServices.jobs,
    websocket: coreServices.websocket,
    auth: coreServices.auth,
    tokens: coreServices.tokens,
    host: coreServices.host,
    pages: pageShellService,
  },

  create({ read, game, log, routes, events, jobs, websocket, auth, tokens, host, pages }, { config }) {
    const board = new Scoreboard(read, log);
    // core/ctf answers account score and place from this engine too: one source for every number a player sees.
    const stopServingStandings = game.useStandings({
      get mode() {
        return board.state.mode;
      },
      scoreAndPlace: (accountId, view) => board.state.scoreAndPlace(view, accountId),
    });
    const stream = new ScoreStream(board, config.streamTop, (connections, message) => websocket.broadcast(connections, message), {
      caller: (userId) => read.caller(userId),
      tokenTtlMs: host.websocketTokenTtlMs,
    });

    // Handlers return when the change is applied (events.drain() waits for them); failures are logged by the board.
    const quietly = (work: Promise<unknown>): Promise<void> => work.then(
      () => undefined,
      () => undefined,
    );
    // The engine answers reads: a write's answer waits until its change is applied here (read-your-writes).
    const servesReads = { servesReads: true };
    events.on("solve.created", (p) => quietly(board.solveCreated(p)), servesReads);
    events.on("award.created", (p) => quietly(board.awardCreated(p)), servesReads);
    events.on("award.deleted", (p) => quietly(board.awardDeleted(p)), servesReads);
    events.on("account.updated", (p) => quietly(board.accountUpdated(p)), servesReads);
    events.on("account.updated", (p) => stream.accountChanged(p)); // a failure is logged by the kernel
    events.on("challenge.updated", (p) => quietly(board.challengeUpdated(p)), servesReads);
    events.on("event.updated", (p) => quietly(board.eventUpdated(p)), servesReads);
    // Every instance forwards announcements to its own clients.
    events.on("scoreboard.announce", (p) => stream.announce(p));
    // Sent by another instance (this one already did the work before broadcasting).
    events.on("scoreboard.rebuild", (_p, meta) => (meta.local ? undefined : quietly(board.rebuild())));
    events.on("scoreboard.check", (_p, meta) => (meta.local ? undefined : quietly(board.check())));
    // Broadcasts sent while this instance's Redis connection was away never arrive: compare with the database now
    // (and repair) rather than at the next consistency run. A check that finds nothing changes nothing.
    events.on("kernel.coordination.restored", () => quietly(board.check()));

    scoreboardRoutes({ routes, auth, tokens, host }, board, () => events.emit("scoreboard.rebuild", {}, { broadcast: true }));
    scoreboardPage(routes, pages);
    websocket.channel({ path: STREAM_PATH, onConnect: (connection) => stream.connect(connection) });

    jobs.add({
      id: "consistency",
      cron: config.consistencyCron,
      scope: "cluster",
      async run({ log: runLog }) {
        const result = await board.check();
        events.emit("scoreboard.check", {}, { broadcast: true });
        if (result.drift) runLog.warn({ differences: result.differences.length }, "scoreboard drift repaired");
        return result;
      },
    });

    return {
      async init() {
        await board.rebuild();
        stream.start();
      },
      stop: () => {
        stopServingStandings();
        stream.stop();
      },
    };
  },
});
