import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** What a signed token says: who may use it for what, until when. */
export interface TokenClaims {
  /** Audience: what the token is for, e.g. a WebSocket channel path. */
  aud: string;
  /** Expiry, ms since the epoch. */
  exp: number;
  /** Subject (an account id), when the token is personal. */
  sub?: string;
  /** Whether the holder may see what admins see (e.g. through a scoreboard freeze). */
  admin?: boolean;
  /** A random nonce, so two tokens issued in the same millisecond differ. */
  n: string;
}

export type VerifyResult = { ok: true; claims: TokenClaims } | { ok: false; reason: "malformed" | "forged" | "expired" | "wrong-audience" | "wrong-subject" };

/**
 * Short-lived signed tokens (HMAC-SHA256 over a JSON payload), e.g. for WebSocket channels that cannot carry a
 * cookie or header. Every instance of a cluster shares the secret (config or kernel_settings), so a token issued
 * by one instance is accepted by all.
 */
export class TokenSigner {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(secret, "utf8");
  }

  sign(claims: { aud: string; sub?: string; admin?: boolean }, ttlMs: number): { token: string; expiresAt: string } {
    const exp = Date.now() + ttlMs;
    const payload = Buffer.from(JSON.stringify({ ...claims, exp, n: randomBytes(8).toString("hex") })).toString("base64url");
    return { token: `${payload}.${this.mac(payload)}`, expiresAt: new Date(exp).toISOString() };
  }

  verify(token: string | undefined | null, audience: string): VerifyResult {
    if (!token || token.length > 2048) return { ok: false, reason: "malformed" };
    const [payload, signature, extra] = token.split(".");
    if (!payload || !signature || extra !== undefined) return { ok: false, reason: "malformed" };
    const expected = Buffer.from(this.mac(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: "forged" };
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
      return { ok: false, reason: "malformed" };
    }
    if (typeof claims.exp !== "number" || claims.exp <= Date.now()) return { ok: false, reason: "expired" };
    if (claims.aud !== audience) return { ok: false, reason: "wrong-audience" };
    return { ok: true, claims };
  }

  private mac(payload: string): string {
    return createHmac("sha256", this.key).update(payload).digest("base64url");
  }
}
