import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, Next } from "koa";
import { forbidden, unauthorized } from "./errors.js";

/** Who is making a request. Layers above the kernel (core/ctf) resolve real accounts; the kernel knows only the bootstrap admin. */
export interface Actor {
  kind: string;
  id: string | number;
  name: string;
  admin: boolean;
  /** Anything the resolver wants handlers to have (team id, session id, ...). */
  details?: Record<string, unknown>;
}

/** Returns the actor for a request, or null when these credentials are not its kind. */
export type ActorResolver = (ctx: Context) => Promise<Actor | null> | Actor | null;

declare module "koa" {
  interface DefaultState {
    actor?: Actor | null;
  }
}

/**
 * Resolves the actor of a request and guards admin endpoints. Resolvers are tried in the order added; the
 * kernel's own resolver accepts the bootstrap admin token (`Authorization: Token <FLAGHOST_ADMIN_TOKEN>`),
 * which keeps working for automation after core/ctf adds sessions and API tokens.
 */
export class AuthService {
  private readonly resolvers: Array<{ owner: string; resolve: ActorResolver }> = [];

  constructor(adminToken: string | undefined) {
    if (adminToken) {
      const expected = sha256(adminToken);
      this.addResolver("kernel", (ctx) => {
        const presented = tokenFromHeader(ctx);
        if (!presented || !timingSafeEqual(sha256(presented), expected)) return null;
        return { kind: "bootstrap", id: "bootstrap", name: "bootstrap admin", admin: true };
      });
    }
  }

  addResolver(owner: string, resolve: ActorResolver): void {
    this.resolvers.push({ owner, resolve });
  }

  removeOwner(owner: string): void {
    for (let i = this.resolvers.length - 1; i >= 0; i--) if (this.resolvers[i]!.owner === owner) this.resolvers.splice(i, 1);
  }

  /** The request's actor (memoized on ctx.state), or null for an anonymous request. */
  async actor(ctx: Context): Promise<Actor | null> {
    if (ctx.state.actor !== undefined) return ctx.state.actor;
    let found: Actor | null = null;
    for (const { resolve } of this.resolvers) {
      found = await resolve(ctx);
      if (found) break;
    }
    ctx.state.actor = found;
    return found;
  }

  /** Middleware: 401 without credentials, 403 with credentials that are not an admin's. */
  requireAdmin() {
    return async (ctx: Context, next: Next) => {
      const actor = await this.actor(ctx);
      if (!actor) throw unauthorized(tokenFromHeader(ctx) ? "Invalid or expired token" : "Authentication required");
      if (!actor.admin) throw forbidden();
      await next();
    };
  }
}

/** The token of an `Authorization: Token <value>` header (CTFd's scheme). */
export function tokenFromHeader(ctx: Context): string | null {
  const match = /^Token\s+(\S+)$/i.exec(ctx.get("authorization"));
  return match ? match[1]! : null;
}

function sha256(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
