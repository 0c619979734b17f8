import { z } from "zod";
import type { GameService } from "../../../core/ctf/service.js";
import { unauthorized } from "../../../core/kernel/errors.js";
import { ok, parseInput } from "../../../core/kernel/http/envelope.js";
import type { PluginRoutes } from "../../../core/kernel/http/route-table.js";
import type { Consent } from "../consent.js";

const consentBody = z.strictObject({ consent: z.boolean() });

/** `GET/PUT /api/v1/phase2/consent`: whether the signed-in user lets phase2 keep their user agent as evidence. */
export function consentRoutes(routes: PluginRoutes, game: GameService, consent: Consent): void {
  const signedIn = async (ctx: Parameters<GameService["player"]>[0]) => {
    const player = await game.player(ctx);
    if (!player) throw unauthorized();
    return player;
  };

  routes.get("/api/v1/phase2/consent", { summary: "The signed-in user's consent to keep their user agent" }, async function showConsent(ctx) {
    const player = await signedIn(ctx);
    ok(ctx, { user_id: player.userId, consent: await consent.of(player.userId) });
  });

  routes.put("/api/v1/phase2/consent", { summary: "Give or withdraw consent", body: consentBody }, async function setConsent(ctx) {
    const player = await signedIn(ctx);
    const body = parseInput(consentBody, ctx.request.body ?? {});
    await consent.set(player.userId, body.consent);
    ok(ctx, { user_id: player.userId, consent: body.consent });
  });
}
