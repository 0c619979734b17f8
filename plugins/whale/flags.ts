import { createHmac, timingSafeEqual } from "node:crypto";
import type { FlagVerifier } from "../../core/ctf/service.js";
import { DYNAMIC_FLAG_TYPE } from "./challenge-type.js";
import type { FlagReused } from "./service.js";

export interface FlagOwner {
  accountType: "user" | "team";
  accountId: number;
}

/**
 * Per-account flags: `<prefix>{<u|t><account id>_<mac>}`, the mac an HMAC-SHA256 of the challenge and the account
 * under the server's secret. The account id in clear lets the verifier tell a shared flag (valid mac, another
 * account) from a wrong one; nobody can make a valid mac without the secret. It needs no record, so a flag can be
 * checked long after its container is gone.
 */
export function deriveFlag(secret: string, prefix: string, challengeId: number, owner: FlagOwner): string {
  return `${prefix}{${ownerTag(owner)}_${mac(secret, challengeId, owner)}}`;
}

const ownerTag = (owner: FlagOwner) => `${owner.accountType === "team" ? "t" : "u"}${owner.accountId}`;

function mac(secret: string, challengeId: number, owner: FlagOwner): string {
  return createHmac("sha256", secret).update(`whale:${challengeId}:${ownerTag(owner)}`).digest("hex").slice(0, 32);
}

const FLAG_SHAPE = /^([A-Za-z0-9_]+)\{([ut])(\d{1,10})_([0-9a-f]{32})\}$/;

/** Who a flag of this challenge belongs to, or null when it is no flag whale made for it. */
export function flagOwner(secret: string, prefix: string, challengeId: number, provided: string): FlagOwner | null {
  const match = FLAG_SHAPE.exec(provided.trim());
  if (!match || match[1] !== prefix) return null;
  const owner: FlagOwner = { accountType: match[2] === "t" ? "team" : "user", accountId: Number(match[3]) };
  const expected = Buffer.from(mac(secret, challengeId, owner));
  const given = Buffer.from(match[4]!);
  return timingSafeEqual(expected, given) ? owner : null;
}

/**
 * The verifier of `whale_dynamic` flags: correct only for the submitter's own flag. Another account's valid flag
 * is incorrect and reported through `onReused` (whale emits `flag.reused`), unless an admin submitted it.
 */
export function dynamicFlagVerifier(secret: () => string, onReused: (event: FlagReused) => void): FlagVerifier {
  return {
    type: DYNAMIC_FLAG_TYPE,
    validate: (content) => (/^[A-Za-z0-9_]{1,32}$/.test(content) ? null : "content must be the flag prefix (letters, digits or _)"),
    verify({ challengeId, flag, provided, player }) {
      if (player.accountId === null) return false;
      const owner = flagOwner(secret(), flag.content, challengeId, provided);
      if (!owner) return false;
      if (owner.accountType === player.accountType && owner.accountId === player.accountId) return true;
      // Admins are not players (core/ctf skips their prerequisites and records nothing for a preview): an admin
      // trying a player's flag checks it, and shares nothing.
      if (player.admin) return false;
      onReused({
        challengeId,
        submitterAccountId: player.accountId,
        submitterUserId: player.userId,
        ownerAccountId: owner.accountId,
        accountType: player.accountType,
        date: new Date().toISOString(),
      });
      return false;
    },
  };
}
