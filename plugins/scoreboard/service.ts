/**
 * The scoreboard's service type module: the one file of the scoreboard another plugin may import (declare
 * `scoreboard` in your dependsOn, optional if you can live without it). It declares the event other plugins emit
 * to put a message on the live score stream.
 */

/**
 * Something worth showing live beside the standings (phase2's first bloods, say). Emit it with
 * `{ broadcast: true }`: every instance's scoreboard forwards it to its stream clients as
 * `{type: "announcement", kind, data}`, outside the delta sequence. Players' clients get it only while the
 * public view is not frozen; admins always.
 */
export interface ScoreAnnouncement {
  kind: string;
  data: Record<string, unknown>;
}

declare module "../../core/kernel/events.js" {
  interface EventMap {
    "scoreboard.announce": ScoreAnnouncement;
  }
}
