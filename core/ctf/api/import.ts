import { badRequest, HttpError } from "../../kernel/errors.js";
import { ok } from "../../kernel/http/envelope.js";
import type { PluginRoutes } from "../../kernel/http/route-table.js";
import { importCtfdZip } from "../import/ctfd-import.js";
import { isImportError } from "../import/errors.js";
import type { Ctf } from "../runtime.js";

const ZIP_TYPES = ["application/zip", "application/x-zip-compressed", "application/octet-stream"];

/**
 * `POST /api/v1/import/ctfd` (admin): the body is a CTFd export zip (`Content-Type: application/zip`), read by
 * the kernel's body parser up to `http.bodyLimitBytes`; larger exports go through `flaghost import ctfd`.
 * Answers the import summary; 400 for a file that is not a usable export, 409 when the event is not empty (checked
 * before the file is read), 413 naming the file when it is past a bound (IMPORT_BOUNDS).
 */
export function importRoutes(routes: PluginRoutes, ctf: Ctf): void {
  routes.post("/api/v1/import/ctfd", ctf.requireAdmin, async (ctx) => {
    const zip = ctx.request.rawBody;
    if (!zip || zip.length === 0) throw badRequest({ file: ["the request body is empty: send the CTFd export zip"] });
    if (!ctx.is(ZIP_TYPES)) {
      throw new HttpError(415, "Unsupported media type", { file: ["send the CTFd export zip as the request body with Content-Type: application/zip"] });
    }
    try {
      const summary = await importCtfdZip(ctf.db, zip, {
        label: "the uploaded export",
        emit: (name, payload) => ctf.emit(name, payload),
        flagTypes: ctf.flagVerifiers.keys(),
      });
      // This instance reads its own writes at once; the others follow the event.
      ctf.settings.invalidate();
      ctf.challenges.invalidate();
      ctf.auth.invalidate();
      ctf.log.info({ counts: summary.counts, warnings: summary.warnings.length }, "imported a CTFd export");
      ok(ctx, summary);
    } catch (error) {
      if (!isImportError(error)) throw error;
      if (error.kind === "refused") throw new HttpError(409, error.message, { database: [error.message] });
      if (error.kind === "too-large") throw new HttpError(413, error.message, { file: [error.message] });
      throw new HttpError(400, error.message, { file: [error.message] });
    }
  });
}
