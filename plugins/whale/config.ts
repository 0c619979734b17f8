import { z } from "zod";

const port = z.number().int().min(1).max(65_535);

/**
 * `plugins.whale` in the config (also `FLAGHOST__plugins__whale__<key>`). Strict: a misspelt key is refused.
 */
export const whaleConfig = z
  .strictObject({
    /** `docker`: one engine; `swarm`: services on a Docker Swarm. */
    driver: z.enum(["docker", "swarm"]).default("docker"),
    /** The form of DOCKER_HOST (`unix:///path` or `tcp://host:port`); absent: DOCKER_HOST, else the default socket. */
    dockerHost: z
      .string()
      .regex(/^(unix:\/\/\/.+|tcp:\/\/[^\s/]+:\d+)$/, "must look like unix:///path or tcp://host:port")
      .optional(),
    /** `bridge` publishes the container's port (production); `host`: the container listens on the host port itself. */
    network: z.enum(["bridge", "host"]).default("bridge"),
    /** Host ports handed out to containers, both ends included. */
    portRange: z.tuple([port, port]).default([30_000, 30_999]),
    /** The host name players connect to. */
    publicHost: z.string().min(1).max(253).default("localhost"),
    /** Containers queued, starting or running at once, in the whole cluster. */
    maxContainers: z.number().int().min(1).max(100_000).default(100),
    /** Containers one account may hold at once (over all challenges). */
    perAccountLimit: z.number().int().min(1).max(100).default(1),
    /** Concurrent starts per worker process. */
    consumers: z.number().int().min(1).max(64).default(4),
    /** Tries per start, 2 s apart. */
    startAttempts: z.number().int().min(1).max(10).default(3),
    /** How long one try waits for the container's port to answer. */
    readyTimeoutS: z.number().int().min(1).max(300).default(15),
    /** A start left unacknowledged this long (its worker died) is taken over by another worker. */
    claimStaleAfterS: z.number().int().min(5).max(3600).default(60),
    /** How often each process checks the engine while healthy or degraded. */
    healthCheckS: z.number().int().min(1).max(600).default(5),
    /** Secret for per-account flags; absent: one is generated once and kept in the database (whale_secrets). */
    flagSecret: z.string().min(32, "must be at least 32 characters").optional(),
  })
  .refine((c) => c.portRange[0] <= c.portRange[1], { path: ["portRange"], message: "from must not be above to" });

export type WhaleConfig = z.infer<typeof whaleConfig>;
