/**
 * whale's service type module: the one file of whale another plugin may import (declare `whale` as an optional
 * dependency in your manifest). It declares the events whale emits.
 */

/**
 * An account submitted a dynamic flag that whale derived for another account (flag sharing, certain). The
 * submission itself is answered `incorrect`. Emitted once per such attempt, on the instance that judged it.
 */
export interface FlagReused {
  challengeId: number;
  /** The account that submitted (user in user mode, team in team mode) and the user who typed it. */
  submitterAccountId: number;
  submitterUserId: number;
  /** The account the flag belongs to. */
  ownerAccountId: number;
  accountType: "user" | "team";
  date: string;
}

/** A container start or stop finished (ids only; read the status through whale's API). */
export interface ContainerEvent {
  startId: string;
  challengeId: number;
  accountId: number;
  accountType: "user" | "team";
  /** `failed`: why, in words an admin can act on. */
  error: string | null;
  date: string;
}

declare module "../../core/kernel/events.js" {
  interface EventMap {
    "flag.reused": FlagReused;
    "container.ready": ContainerEvent;
    "container.failed": ContainerEvent;
    "container.stopped": ContainerEvent;
  }
}
