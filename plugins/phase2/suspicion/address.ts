import { createHmac, randomBytes } from "node:crypto";
import type { Database } from "../../../core/kernel/db/data-source.js";

/**
 * Hashes client addresses with a secret salt (HMAC-SHA256, shortened), so evidence can show that two accounts
 * came from one address without keeping the address. The salt comes from the config or, when unset, is generated
 * once for the cluster and kept in phase2_secrets.
 */
export class AddressHasher {
  private salt: string | null;

  constructor(
    private readonly db: Database,
    configured: string | undefined,
  ) {
    this.salt = configured ?? null;
  }

  /** Loads (or creates) the kept salt; call from init. */
  async load(): Promise<void> {
    if (this.salt) return;
    await this.db.query(`INSERT INTO phase2_secrets (name, value) VALUES ('address_salt', $1) ON CONFLICT (name) DO NOTHING`, [randomBytes(32).toString("hex")]);
    const [row] = await this.db.query<{ value: string }>(`SELECT value FROM phase2_secrets WHERE name = 'address_salt'`);
    this.salt = row!.value;
  }

  hash(address: string): string {
    if (!this.salt) throw new Error("phase2: the address salt is not loaded yet");
    return createHmac("sha256", this.salt).update(address).digest("hex").slice(0, 24);
  }
}
