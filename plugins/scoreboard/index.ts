import type { CtfReadService, GameService, PageShell } from "../../core/ctf/service.js";
import { definePlugin, type PluginContext } from "../../core/kernel/plugin-host/api.js";
import { Scoreboard } from "./board.js";
import { scoreboardConfig } from "./config.js";
import { scoreboardPage } from "./page.js";
import { scoreboardRoutes } from "./routes.js";
import { ScoreStream, STREAM_PATH } from "./stream.js";

/** Asks every other instance to rebuild (admin request) or to check itself (the consistency job). */
declare module "../../core/kernel/events.js" {
  interface EventMap {
    "scoreboard.rebuild": Record<string, never>;
    "scoreboard.check": Record<string, never>;
  }
}

/** Each loaded instance of the plugin (a process may run several kernels, e.g. in tests), by its context. */
const instances = new WeakMap<PluginContext<unknown>, { board: Scoreboard; stream: ScoreStream }>();

/**
 * The scoreboard: an in-memory standings engine per instance (board.ts explains the design), CTFd's
 * scoreboard API, a live WebSocket stream, the /scoreboard page and a cluster-wide consistency job.
 */
export default definePlugin({
  config: scoreboardConfig,

  register(plugin) {
    const board = new Scoreboard(plugin.services.get<CtfReadService>("ctf", "read"), plugin.log);
    const stream = new ScoreStream(board, plugin.config.streamTop, (connections, message) => plugin.websocket.broadcast(connections, message));
    instances.set(plugin, { board, stream });

    // Handlers return when the change is applied (events.drain() waits for them); failures are logged by the board.
    const quietly = (work: Promise<unknown>): Promise<void> => work.then(
      () => undefined,
      () => undefined,
    );
    plugin.events.on("solve.created", (p) => quietly(board.solveCreated(p)));
    plugin.events.on("award.created", (p) => quietly(board.awardCreated(p)));
    plugin.events.on("award.deleted", (p) => quietly(board.awardDeleted(p)));
    plugin.events.on("account.updated", (p) => quietly(board.accountUpdated(p)));
    plugin.events.on("challenge.updated", (p) => quietly(board.challengeUpdated(p)));
    plugin.events.on("event.updated", (p) => quietly(board.eventUpdated(p)));
    // Sent by another instance (this one already did the work before broadcasting).
    plugin.events.on("scoreboard.rebuild", (_p, meta) => (meta.local ? undefined : quietly(board.rebuild())));
    plugin.events.on("scoreboard.check", (_p, meta) => (meta.local ? undefined : quietly(board.check())));

    scoreboardRoutes(plugin, board, () => plugin.events.emit("scoreboard.rebuild", {}, { broadcast: true }));
    scoreboardPage(plugin.routes, () => plugin.services.get<PageShell>("ctf", "pages"));
    plugin.websocket.channel({ path: STREAM_PATH, onConnect: (connection) => stream.connect(connection) });

    plugin.jobs.add({
      id: "consistency",
      cron: plugin.config.consistencyCron,
      scope: "cluster",
      async run({ log }) {
        const result = await board.check();
        plugin.events.emit("scoreboard.check", {}, { broadcast: true });
        if (result.drift) log.warn({ differences: result.differences.length }, "scoreboard drift repaired");
        return result;
      },
    });
  },

  async init(plugin) {
    // Fail early (with core/ctf's name in the error) if the game service is missing.
    plugin.services.get<GameService>("ctf", "game");
    const { board, stream } = instances.get(plugin)!;
    await board.rebuild();
    stream.start();
  },

  stop(plugin) {
    instances.get(plugin)?.stream.stop();
    instances.delete(plugin);
  },
});
