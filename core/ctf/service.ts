import type { Context } from "koa";
import type { z } from "zod";
import { serviceRef } from "../kernel/plugin-host/service-ref.js";
import type { EventSettings } from "./settings.js";

/**
 * core/ctf's service type module: the one file of core/ctf another plugin may import. It declares what core/ctf
 * offers other plugins as typed service references (declare `ctf` in your dependsOn and list them in your deps):
 *
 *  - gameService: GameService    (settings, who is calling, challenge types, flag verifiers)
 *  - pageShellService: PageShell (render a page inside the shared layout and navigation)
 */

/** The caller as core/ctf sees it. `accountId` is the user in user mode and the team in team mode. */
export interface Player {
  userId: number;
  name: string;
  admin: boolean;
  teamId: number | null;
  /** null in team mode for a user without a team. */
  accountId: number | null;
  accountType: "user" | "team";
}

/** A challenge type: its settings schema and, optionally, how it answers attempts. */
export interface ChallengeType<S extends z.ZodType = z.ZodType> {
  id: string;
  name: string;
  /** Validates `type_settings` on create and update (anything else a type needs, e.g. an image name). */
  settings: S;
  /** Extra fields for the challenge view of a player (e.g. connection details of their instance). */
  view?(challenge: { id: number; typeSettings: z.infer<S> }, player: Player | null): Promise<Record<string, unknown>> | Record<string, unknown>;
}

export interface FlagCheck {
  challengeId: number;
  flag: { id: number; type: string; content: string; data: string | null };
  provided: string;
  player: Player;
}

/** A flag verifier: decides whether `provided` matches a flag of its type. */
export interface FlagVerifier {
  type: string;
  /** Validates a flag's content and data when an admin creates or edits it; throw to refuse with a message. */
  validate?(content: string, data: string | null): string | null;
  verify(check: FlagCheck): boolean | Promise<boolean>;
}

export interface GameService {
  settings(): Promise<EventSettings>;
  /** The calling player, or null (anonymous, or the bootstrap admin token, which has no account). */
  player(ctx: Context): Promise<Player | null>;
  addChallengeType(type: ChallengeType): void;
  addFlagVerifier(verifier: FlagVerifier): void;
}

export interface PageOptions {
  title: string;
  /** Body HTML. Build it with `html` so everything interpolated is escaped. */
  body: SafeHtml;
  /** Same-origin script URLs (the CSP allows no inline script). */
  scripts?: string[];
  styles?: string[];
  status?: number;
}

export interface SafeHtml {
  readonly __html: string;
}

export interface PageShell {
  render(ctx: Context, page: PageOptions): Promise<void>;
  /** Tagged template: interpolated values are HTML-escaped unless they are SafeHtml (or arrays of it). */
  html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml;
}

export const gameService = serviceRef<GameService>("ctf.game");
export const pageShellService = serviceRef<PageShell>("ctf.pages");
