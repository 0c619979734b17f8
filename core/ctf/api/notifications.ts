import { z } from "zod";
import { badRequest, notFound } from "../../kernel/errors.js";
import { ok, parseInput } from "../../kernel/http/envelope.js";
import type { PluginRoutes } from "../../kernel/http/route-table.js";
import { pathId, rowId } from "../accounts/rows.js";
import type { Ctf } from "../runtime.js";
import type { Player } from "../service.js";
import { isoDate } from "../sql.js";

interface NotificationRow {
  id: number;
  title: string;
  content: string;
  type: "toast" | "alert" | "background";
  sound: boolean;
  user_id: number | null;
  team_id: number | null;
  created_at: Date;
}

const notificationBody = z
  .object({
    title: z.string().trim().min(1, "must not be empty").max(256),
    content: z.string().trim().min(1, "must not be empty").max(65_536),
    type: z.enum(["toast", "alert", "background"]).default("toast"),
    sound: z.boolean().default(true),
    user_id: rowId.nullable().optional(),
    team_id: rowId.nullable().optional(),
  })
  .strict();

const listQuery = z.object({ since_id: z.coerce.number().int().min(0).max(2 ** 31 - 1).optional() });

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/**
 * A small, safe subset of Markdown for notification text: paragraphs, line breaks, **bold**, *emphasis*,
 * `code` and [links](https://...). Everything is escaped first, so no markup from the admin reaches the page raw.
 */
export function renderNotificationHtml(markdown: string): string {
  const inline = (text: string) =>
    escape(text)
      .replace(/`([^`]+)`/g, "<code>$1</code>")
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
      .replace(/(^|[^*])\*([^*]+)\*/g, "$1<em>$2</em>")
      .replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" rel="noopener noreferrer">$1</a>')
      .replace(/\n/g, "<br>\n");
  return markdown
    .split(/\n\s*\n/)
    .map((block) => block.trim())
    .filter(Boolean)
    .map((block) => `<p>${inline(block)}</p>\n`)
    .join("");
}

/** CTFd's notification shape (`type` and `sound` are added for pages that pick a toast or an alert). */
function notificationView(n: NotificationRow): Record<string, unknown> {
  return {
    id: n.id,
    title: n.title,
    content: n.content,
    html: renderNotificationHtml(n.content),
    type: n.type,
    sound: n.sound,
    date: isoDate(n.created_at),
    user_id: n.user_id,
    team_id: n.team_id,
    user: n.user_id,
    team: n.team_id,
  };
}

/** Broadcast notifications, plus those addressed to the caller or the caller's team; admins see all. */
function audienceCondition(player: Player | null, admin: boolean, params: unknown[]): string {
  if (admin) return "true";
  params.push(player?.userId ?? null, player?.teamId ?? null);
  const [u, t] = [`$${params.length - 1}`, `$${params.length}`];
  return `((user_id IS NULL AND team_id IS NULL) OR user_id = ${u}::int OR team_id = ${t}::int)`;
}

/** What a new notification says and whom it addresses (null ids: everyone). */
export interface NotificationInput {
  title: string;
  content: string;
  type: "toast" | "alert" | "background";
  sound: boolean;
  user_id?: number | null;
  team_id?: number | null;
}

/** Writes a notification and announces it (`notification.created`): the admin API and `gameService.notify`. */
export async function createNotification(ctf: Ctf, input: NotificationInput): Promise<Record<string, unknown>> {
  const [row] = await ctf.db.query<NotificationRow>(
    `INSERT INTO ctf_notifications (title, content, type, sound, user_id, team_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
    [input.title, input.content, input.type, input.sound, input.user_id ?? null, input.team_id ?? null],
  );
  const view = notificationView(row!);
  ctf.emit("notification.created", { notification: { ...view, id: row!.id, user_id: row!.user_id, team_id: row!.team_id } });
  return view;
}

/**
 * /api/v1/notifications: anyone reads (HEAD answers only the count, in `Result-Count`); admins post and delete.
 */
export function notificationsRoutes(routes: PluginRoutes, ctf: Ctf): void {
  const query = ctf.db.query.bind(ctf.db);

  // @koa/router answers HEAD with the GET route; the body is dropped for HEAD.
  routes.get("/api/v1/notifications", { query: listQuery }, async (ctx) => {
    const q = parseInput(listQuery, ctx.query);
    const params: unknown[] = [q.since_id ?? 0];
    const audience = audienceCondition(await ctf.player(ctx), await ctf.isAdmin(ctx), params);
    const rows = await query<NotificationRow>(`SELECT * FROM ctf_notifications WHERE id > $1 AND ${audience} ORDER BY id`, params);
    ctx.set("Result-Count", String(rows.length));
    if (ctx.method === "HEAD") {
      ctx.status = 200;
      ctx.body = "";
      return;
    }
    ok(ctx, rows.map(notificationView));
  });

  routes.get("/api/v1/notifications/:id", async (ctx) => {
    const params: unknown[] = [pathId(ctx.params.id)];
    const audience = audienceCondition(await ctf.player(ctx), await ctf.isAdmin(ctx), params);
    const [row] = await query<NotificationRow>(`SELECT * FROM ctf_notifications WHERE id = $1 AND ${audience}`, params);
    if (!row) throw notFound();
    ok(ctx, notificationView(row));
  });

  routes.post("/api/v1/notifications", { body: notificationBody }, ctf.requireAdmin, async (ctx) => {
    const body = parseInput(notificationBody, ctx.request.body ?? {});
    if (body.user_id != null && !(await query(`SELECT id FROM ctf_users WHERE id = $1`, [body.user_id]))[0]) throw badRequest({ user_id: ["User does not exist"] });
    if (body.team_id != null && !(await query(`SELECT id FROM ctf_teams WHERE id = $1`, [body.team_id]))[0]) throw badRequest({ team_id: ["Team does not exist"] });
    ok(ctx, await createNotification(ctf, body));
  });

  routes.delete("/api/v1/notifications/:id", ctf.requireAdmin, async (ctx) => {
    const [row] = await query(`DELETE FROM ctf_notifications WHERE id = $1 RETURNING id`, [pathId(ctx.params.id)]);
    if (!row) throw notFound();
    ctx.body = { success: true };
  });
}
