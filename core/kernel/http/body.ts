import type { Context, Next } from "koa";
import { HttpError } from "../errors.js";

declare module "koa" {
  interface Request {
    /** The parsed body: JSON object/array, or form fields; undefined when the request had none. */
    body?: unknown;
    /** The raw bytes, for handlers that verify signatures or read uploads. */
    rawBody?: Buffer;
  }
}

/**
 * Reads and parses request bodies with a hard size limit: too large is 413 before it is buffered in full,
 * malformed JSON is 400 naming the problem. Multipart uploads are left to the route (it reads ctx.req itself).
 */
export function bodyParser(limitBytes: number) {
  const parse = async (ctx: Context, next: Next) => {
    const declared = Number(ctx.get("content-length") || 0);
    if (declared > limitBytes) throw tooLarge(limitBytes);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req) {
      size += (chunk as Buffer).length;
      if (size > limitBytes) throw tooLarge(limitBytes);
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks);
    ctx.request.rawBody = raw;
    if (raw.length > 0) {
      const text = raw.toString("utf8");
      if (ctx.is("json") || !ctx.get("content-type")) {
        try {
          ctx.request.body = JSON.parse(text);
        } catch (error) {
          throw new HttpError(400, "Bad request", { body: [`is not valid JSON: ${(error as Error).message}`] });
        }
      } else if (ctx.is("urlencoded")) {
        ctx.request.body = Object.fromEntries(new URLSearchParams(text));
      }
    }
    return next();
  };
  // Requests without a body pass straight through (no extra promise on the read path).
  return (ctx: Context, next: Next) => (WITH_BODY.has(ctx.method) && !ctx.is("multipart") ? parse(ctx, next) : next());
}

const WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function tooLarge(limitBytes: number): HttpError {
  return new HttpError(413, "Payload too large", { body: [`must be at most ${limitBytes} bytes`] });
}
