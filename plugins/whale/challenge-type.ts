import { z } from "zod";
import type { ChallengeType, Player } from "../../core/ctf/service.js";

/**
 * The settings of a `container` challenge, sent flat in `POST /api/v1/challenges` (`image`, `port`, ...) and kept
 * by core/ctf in its `type_settings`. Defaults are filled in when an admin saves the challenge.
 */
export const containerSettings = z.strictObject({
  /** An image reference: `name[:tag][@digest]`, with an optional registry host. */
  image: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/i, "must be an image reference such as registry/name:tag"),
  command: z.array(z.string().max(1024)).max(64).optional(),
  /** Where the service listens inside the container (bridge mode). */
  port: z.number().int().min(1).max(65_535),
  memory_mb: z.number().int().min(16).max(65_536).default(256),
  cpus: z.number().min(0.01).max(64).default(0.5),
  lifetime_s: z.number().int().min(5).max(7 * 24 * 3600).default(3600),
  max_renewals: z.number().int().min(0).max(1000).default(5),
  /** `dynamic`: whale derives a flag per account and gives it to the container as FLAG; `static`: the image's own. */
  flag_mode: z.enum(["static", "dynamic"]).default("dynamic"),
  /** How players reach the service: `tcp` (shown as `nc host port`) or `http` (shown as a link). */
  protocol: z.enum(["tcp", "http"]).default("tcp"),
  flag_prefix: z
    .string()
    .min(1)
    .max(32)
    .regex(/^[A-Za-z0-9_]+$/, "must be letters, digits or _")
    .default("flag"),
});

export type ContainerSettings = z.infer<typeof containerSettings>;

/** The flag type whale's verifier judges; a dynamic container challenge carries one implicitly. */
export const DYNAMIC_FLAG_TYPE = "whale_dynamic";

/**
 * The `container` challenge type. Admins see its settings in `GET /api/v1/challenges/:id`; players see the protocol,
 * and the challenge dialog loads whale's panel (Start, Renew, Stop) for it.
 */
export function containerChallengeType(): ChallengeType<typeof containerSettings> {
  return {
    id: "container",
    name: "container",
    settings: containerSettings,
    view(challenge, _player: Player | null, viewer) {
      // Players learn only how to connect; the state of their container comes from /api/v1/containers.
      return viewer.admin ? { ...challenge.typeSettings } : { protocol: challenge.typeSettings.protocol };
    },
    viewScript: "/whale/static/panel.js",
    // The prefix travels as the flag's content: the verifier needs nothing else from the challenge.
    implicitFlags: (settings) => (settings.flag_mode === "dynamic" ? [{ type: DYNAMIC_FLAG_TYPE, content: settings.flag_prefix, data: null }] : []),
  };
}
