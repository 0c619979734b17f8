import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { z } from "zod";
import { ok } from "../../../core/kernel/http/envelope.js";
import { coreServices, definePlugin, fromRequest } from "../../../core/kernel/plugin-host/api.js";

/** One row per heartbeat; the table carries the plugin's declared prefix. */
@Entity("countdown_heartbeats")
class Heartbeat {
  @PrimaryGeneratedColumn({ type: "integer" })
  id!: number;

  // Explicit column types: tsx does not emit decorator metadata.
  @Column({ type: "timestamptz", name: "beat_at" })
  beatAt!: Date;
}

export default definePlugin({
  // The slice `plugins.countdown` of the config; the kernel adds `enabled`.
  config: z.object({
    title: z.string().min(1).default("The event ends in"),
    endsAt: z.iso.datetime().optional(),
  }),
  entities: [Heartbeat],
  migrations: [
    {
      id: "0001-heartbeats",
      up: (q) => q.query(`CREATE TABLE countdown_heartbeats (id serial PRIMARY KEY, beat_at timestamptz NOT NULL)`).then(() => undefined),
    },
  ],
  // Everything the plugin touches, by typed reference; the kernel resolves them and calls create once per load.
  deps: { routes: coreServices.routes, jobs: coreServices.jobs, auth: coreServices.auth, db: coreServices.database },

  create({ routes, jobs, auth, db }, { config }) {
    const heartbeats = () => db.dataSource.getRepository(Heartbeat);

    routes.get("/countdown", async (ctx) => {
      const secondsLeft = config.endsAt ? Math.max(0, Math.round((Date.parse(config.endsAt) - Date.now()) / 1000)) : null;
      // The caller is request-scoped: resolved per request, never held by the plugin.
      const caller = await fromRequest(ctx, coreServices.caller);
      ok(ctx, { title: config.title, endsAt: config.endsAt ?? null, secondsLeft, heartbeats: await heartbeats().count(), viewer: caller?.name ?? null });
    });

    routes.delete("/countdown/heartbeats", auth.requireAdmin(), async (ctx) => {
      await db.transaction((tx) => tx.getRepository(Heartbeat).clear());
      ok(ctx, null);
    });

    // Runs once per minute across the whole cluster, however many instances are up.
    jobs.add({ id: "heartbeat", cron: "* * * * *", run: () => db.transaction((tx) => tx.getRepository(Heartbeat).insert({ beatAt: new Date() })) });
  },
});
