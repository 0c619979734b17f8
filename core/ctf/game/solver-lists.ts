import type { Database } from "../../kernel/db/data-source.js";
import { zuluDate } from "../sql.js";
import { challengeSolvers } from "./board.js";
import { privateJsonAnswer, type PreparedAnswer } from "./board-answers.js";

/** Past this many kept lists (challenges × views), the oldest are forgotten: they are rebuilt on their next read. */
const MAX_KEPT = 512;

/**
 * `GET /challenges/:id/solves` answers, built once per change instead of once per read. A list holds every solver
 * of a challenge (thousands on a popular one at a big event), so reading it joins most of the accounts table; it is
 * kept as bytes until a solve, a hide, a ban or a rename moves `inputsVersion()` (the solve index's and the account
 * rows' versions). A list read while they moved is answered but not kept, so a kept list is never older than a change
 * its instance has seen.
 */
export class SolverLists {
  private readonly kept = new Map<string, { version: string; answer: PreparedAnswer }>();

  constructor(
    private readonly db: Database,
    private readonly inputsVersion: () => string,
  ) {}

  async answer(challengeId: number, mode: "users" | "teams", until: Date | null): Promise<PreparedAnswer> {
    const key = `${challengeId}|${mode}|${until?.getTime() ?? "live"}`;
    const version = this.inputsVersion();
    const hit = this.kept.get(key);
    if (hit && hit.version === version) return hit.answer;
    const rows = await challengeSolvers(this.db, challengeId, mode, until);
    const kind = mode === "teams" ? "teams" : "users";
    const answer = privateJsonAnswer(rows.map((r) => ({ account_id: r.account_id, name: r.name, date: zuluDate(r.date), account_url: `/${kind}/${r.account_id}` })));
    if (this.inputsVersion() === version) {
      this.kept.delete(key);
      if (this.kept.size >= MAX_KEPT) this.kept.delete(this.kept.keys().next().value!);
      this.kept.set(key, { version, answer });
    }
    return answer;
  }
}
