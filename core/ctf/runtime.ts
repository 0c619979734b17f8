import type { Context, Middleware } from "koa";
import type { Coordination } from "../kernel/coordination/types.js";
import type { Database } from "../kernel/db/data-source.js";
import { unauthorized } from "../kernel/errors.js";
import type { EventHandler, EventName, EventPayload } from "../kernel/events.js";
import type { Logger } from "../kernel/log.js";
import type { HostView, PluginAuth, PluginEvents } from "../kernel/plugin-host/api.js";
import { PlayerAuth } from "./accounts/auth.js";
import { ListedAccountCounts } from "./accounts/listed-counts.js";
import { AccountRowCache } from "./accounts/row-cache.js";
import "./events.js";
import type { CtfConfig } from "./config.js";
import { ChallengeCache } from "./game/challenge-cache.js";
import { HintCache } from "./game/hint-cache.js";
import { PlayerProgress } from "./game/player-progress.js";
import type { PreparedAnswer } from "./game/board-answers.js";
import { SolveIndex } from "./game/solve-index.js";
import type { ChallengeType, FlagVerifier, Player, StandingsSource } from "./service.js";
import { SettingsStore } from "./settings.js";

/** The kernel services core/ctf's runtime is built from (its deps in index.ts, plus its config slice). */
export interface CtfRuntimeDeps {
  config: CtfConfig;
  db: Database;
  host: HostView;
  log: Logger;
  coordination: Coordination;
  events: PluginEvents;
  auth: PluginAuth;
}

const LOCAL_EVENTS = new Set<string>(["submission.created", "submission.failed"]);

/**
 * Everything core/ctf's route modules and services share, built once in create. Each route module is a
 * function `(routes, ctf) => void`; reading what it uses from `ctf` tells you what it touches.
 */
export class Ctf {
  readonly settings: SettingsStore;
  readonly challenges: ChallengeCache;
  /** Solve counts and solved sets in memory (the board's read model). */
  readonly solves: SolveIndex;
  /** Every challenge's hints (the detail view). */
  readonly hints: HintCache;
  /** Each account's attempts per challenge and unlocked hints (the detail view's read model). */
  readonly progress: PlayerProgress;
  /** Totals of the public account lists in memory. */
  readonly listedAccounts: ListedAccountCounts;
  /** Account rows for profile views (not for writes). */
  readonly accountRows: AccountRowCache;
  /** Pages of the public account lists as bytes, with the accountRows version they were built at (accounts/listing.ts). */
  readonly publicPages = new Map<string, { version: string; answer: PreparedAnswer }>();
  readonly config: CtfConfig;
  readonly auth: PlayerAuth;
  readonly challengeTypes = new Map<string, ChallengeType>();
  readonly flagVerifiers = new Map<string, FlagVerifier>();
  /** Score and place in memory, when a plugin registered them (GameService.useStandings). */
  standings: StandingsSource | null = null;
  readonly log: Logger;
  readonly coordination: Coordination;
  private readonly stopHooks: Array<() => void> = [];

  readonly db: Database;
  /** What the host knows about plugins, pages and jobs (for navigation and admin pages). */
  readonly host: HostView;
  private readonly events: PluginEvents;
  private readonly kernelAuth: PluginAuth;

  constructor(deps: CtfRuntimeDeps) {
    this.config = deps.config;
    this.db = deps.db;
    this.host = deps.host;
    this.log = deps.log;
    this.coordination = deps.coordination;
    this.events = deps.events;
    this.kernelAuth = deps.auth;
    this.challenges = new ChallengeCache(deps.db);
    this.settings = new SettingsStore(deps.db);
    this.solves = new SolveIndex(deps.db, () => this.settings.get(), deps.log);
    this.hints = new HintCache(deps.db);
    this.progress = new PlayerProgress(deps.db);
    this.listedAccounts = new ListedAccountCounts(deps.db);
    this.accountRows = new AccountRowCache(deps.db);
    this.auth = new PlayerAuth(deps.db, this.settings);
  }

  /**
   * Emits a domain event after the current transaction commits. Events that change what other instances keep in
   * memory (standings, caches) are broadcast to every instance; submission events stay on the instance that wrote
   * them (they are the hottest path, and no instance keeps state derived from them).
   */
  emit<K extends EventName>(name: K, payload: EventPayload<K>): void {
    this.events.emit(name, payload, { broadcast: !LOCAL_EVENTS.has(name) });
  }

  /** Subscribes to a domain event (during register only, like every registration). */
  on<K extends EventName>(name: K, handler: EventHandler<K>): void {
    this.events.on(name, handler);
  }

  /** Runs fn when the plugin stops (timers, open streams). */
  onStop(fn: () => void): void {
    this.stopHooks.push(fn);
  }

  stop(): void {
    for (const fn of this.stopHooks.splice(0)) fn();
  }

  /** The calling player, or null (anonymous or the bootstrap admin token). */
  async player(ctx: Context): Promise<Player | null> {
    return this.auth.player(ctx, await this.kernelAuth.actor(ctx));
  }

  /** True for admins: players with the admin role and the bootstrap admin token. */
  async isAdmin(ctx: Context): Promise<boolean> {
    return (await this.kernelAuth.actor(ctx))?.admin === true;
  }

  /** True for the kernel's bootstrap admin token (FLAGHOST_ADMIN_TOKEN). */
  async isBootstrap(ctx: Context): Promise<boolean> {
    return (await this.kernelAuth.actor(ctx))?.kind === "bootstrap";
  }

  /** 401 unless a player is logged in (the bootstrap token has no account, so it is refused here). */
  readonly requirePlayer: Middleware = async (ctx, next) => {
    if (!(await this.player(ctx))) throw unauthorized();
    await next();
  };

  get requireAdmin(): Middleware {
    return this.kernelAuth.requireAdmin();
  }
}
