/** How many long-lived streams (WebSocket channels, server-sent events) may be open at once. */
export interface ConnectionLimitsConfig {
  /** Per token or session: one credential opening many sockets. */
  perToken: number;
  /** Per client address (the proxy's X-Forwarded-For when `http.trustProxy` is on). */
  perAddress: number;
  /** On this instance, every stream of every plugin together. */
  total: number;
}

export type LimitName = "token" | "address" | "total";

export type Admission = { ok: true; release(): void } | { ok: false; limit: LimitName; max: number };

/** What a stream presents: its credential (a key that names it, never the secret itself), and where it comes from. */
export interface StreamClaim {
  key: string | null;
  address: string;
}

/**
 * The one place open streams are counted: the kernel's WebSocket hub admits every channel socket here, and a
 * plugin serving a stream of its own (core/ctf's /events) admits it through `coreServices.connections`.
 */
export interface ConnectionLimits {
  /** Counts the stream in, or says which limit it would pass. Call `release` (idempotent) when it closes. */
  admit(claim: StreamClaim): Admission;
  readonly open: number;
}

export function createConnectionLimits(limits: ConnectionLimitsConfig): ConnectionLimits {
  const byKey = new Map<string, number>();
  const byAddress = new Map<string, number>();
  let open = 0;

  const add = (counts: Map<string, number>, key: string, delta: number) => {
    const next = (counts.get(key) ?? 0) + delta;
    if (next > 0) counts.set(key, next);
    else counts.delete(key); // an idle key costs nothing
  };

  return {
    get open() {
      return open;
    },
    admit({ key, address }) {
      if (key !== null && (byKey.get(key) ?? 0) >= limits.perToken) return { ok: false, limit: "token", max: limits.perToken };
      if ((byAddress.get(address) ?? 0) >= limits.perAddress) return { ok: false, limit: "address", max: limits.perAddress };
      if (open >= limits.total) return { ok: false, limit: "total", max: limits.total };
      if (key !== null) add(byKey, key, 1);
      add(byAddress, address, 1);
      open++;
      let released = false;
      return {
        ok: true,
        release() {
          if (released) return;
          released = true;
          if (key !== null) add(byKey, key, -1);
          add(byAddress, address, -1);
          open--;
        },
      };
    },
  };
}

/** A refusal in words, for a close reason or a 429; `credential` names what the key stands for. */
export function refusalMessage(refusal: { limit: LimitName; max: number }, credential: string): string {
  if (refusal.limit === "token") return `too many open streams with this ${credential} (at most ${refusal.max})`;
  if (refusal.limit === "address") return `too many open streams from this address (at most ${refusal.max})`;
  return `the server is at its limit of ${refusal.max} open streams; try again later`;
}
