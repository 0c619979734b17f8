import { expect } from "chai";
import { createHash } from "node:crypto";
import { phase2Config } from "../../../plugins/phase2/config.js";
import { flagReused, riskOf, sameAddressSolves, sharedWrongAnswers, type AccountSubmission, type DetectorContext } from "../../../plugins/phase2/suspicion/detectors.js";

/** The detectors are pure: constructed cases with the default configuration. */
const defaults = phase2Config.parse({});
const ctx: DetectorContext = { config: defaults, hashAddress: (a) => `hash(${a})`, consented: () => false };
const T0 = Date.parse("2026-01-01T12:00:00Z");
let nextId = 1;

function sub(accountId: number, type: AccountSubmission["type"], provided: string, atSeconds: number, ip: string | null = null, challengeId = 1): AccountSubmission {
  // As core/ctf's read service hands a submission out: a wrong answer as its digest and length only.
  const answer = provided.trim();
  const wrongAnswer = type === "incorrect" ? { digest: createHash("sha256").update(answer).digest("hex"), length: answer.length } : null;
  return { id: nextId++, challengeId, userId: accountId, teamId: null, accountId, type, wrongAnswer, at: T0 + atSeconds * 1000, ip, userAgent: "agent/1" };
}

describe("phase2 detectors with the default weights", () => {
  it("reach every risk level on constructed cases", () => {
    const low = sharedWrongAnswers([sub(1, "incorrect", "flag{nearly}", 0), sub(2, "incorrect", "flag{nearly}", 300)], ctx);
    const medium = sharedWrongAnswers([sub(1, "incorrect", "flag{nearly}", 0), sub(2, "incorrect", "flag{nearly}", 20)], ctx);
    const high = sharedWrongAnswers([1, 2, 3, 4].map((a) => sub(a, "incorrect", "flag{nearly}", a)), ctx);
    expect(low.map((f) => riskOf(f.confidence))).to.deep.equal(["LOW"]);
    expect(medium.map((f) => riskOf(f.confidence))).to.deep.equal(["MEDIUM"]);
    expect(new Set(high.map((f) => riskOf(f.confidence)))).to.deep.equal(new Set(["HIGH"]));
    expect(high).to.have.length(6); // every pair of the four accounts

    const addressMedium = sameAddressSolves([sub(1, "correct", "flag", 0, "203.0.113.5"), sub(2, "correct", "flag", 40, "203.0.113.5")], ctx);
    const addressHigh = sameAddressSolves([sub(1, "correct", "flag", 0, "203.0.113.5"), sub(2, "correct", "flag", 3, "203.0.113.5")], ctx);
    expect(addressMedium.map((f) => riskOf(f.confidence))).to.deep.equal(["MEDIUM"]);
    expect(addressHigh.map((f) => riskOf(f.confidence))).to.deep.equal(["HIGH"]);

    const reused = flagReused({ challengeId: 1, submitterAccountId: 9, submitterUserId: 9, ownerAccountId: 4, date: new Date(T0).toISOString() }, ctx);
    expect(reused).to.include({ pattern: "flag_reused", confidence: 1 });
    expect(reused!.accounts).to.deep.equal([4, 9]);
  });

  it("stay quiet on the negative cases", () => {
    // Trivial guesses, different answers, one account alone, a common guess of many accounts.
    expect(sharedWrongAnswers([sub(1, "incorrect", "a", 0), sub(2, "incorrect", "a", 1)], ctx)).to.deep.equal([]);
    expect(sharedWrongAnswers([sub(1, "incorrect", "  ", 0), sub(2, "incorrect", "  ", 1)], ctx)).to.deep.equal([]);
    expect(sharedWrongAnswers([sub(1, "incorrect", "flag{one}", 0), sub(2, "incorrect", "flag{two}", 1)], ctx)).to.deep.equal([]);
    expect(sharedWrongAnswers([sub(1, "incorrect", "flag{one}", 0), sub(1, "incorrect", "flag{one}", 1)], ctx)).to.deep.equal([]);
    expect(sharedWrongAnswers(Array.from({ length: 11 }, (_, a) => sub(a + 1, "incorrect", "admin", a)), ctx)).to.deep.equal([]);
    // The same answer on two different challenges is no evidence either.
    expect(sharedWrongAnswers([sub(1, "incorrect", "flag{x}", 0, null, 1), sub(2, "incorrect", "flag{x}", 1, null, 2)], ctx)).to.deep.equal([]);
    // Same address but more than 60 s apart; close in time but different addresses; no address recorded.
    expect(sameAddressSolves([sub(1, "correct", "f", 0, "203.0.113.5"), sub(2, "correct", "f", 61, "203.0.113.5")], ctx)).to.deep.equal([]);
    expect(sameAddressSolves([sub(1, "correct", "f", 0, "203.0.113.5"), sub(2, "correct", "f", 1, "203.0.113.6")], ctx)).to.deep.equal([]);
    expect(sameAddressSolves([sub(1, "correct", "f", 0, null), sub(2, "correct", "f", 1, null)], ctx)).to.deep.equal([]);
    // A shared network (a campus NAT): eleven accounts solving from one address.
    expect(sameAddressSolves(Array.from({ length: 11 }, (_, a) => sub(a + 1, "correct", "f", a, "203.0.113.50")), ctx)).to.deep.equal([]);
    // An account reusing its own flag is not sharing.
    expect(flagReused({ challengeId: 1, submitterAccountId: 4, submitterUserId: 4, ownerAccountId: 4, date: "" }, ctx)).to.equal(null);
  });

  it("keep the address only as its salted hash, and user agents only with consent", () => {
    const withConsent: DetectorContext = { ...ctx, consented: (userId) => userId === 1 };
    const [finding] = sameAddressSolves([sub(1, "correct", "f", 0, "203.0.113.9"), sub(2, "correct", "f", 2, "203.0.113.9")], withConsent);
    expect(finding!.evidence.address_hash).to.equal("hash(203.0.113.9)");
    const submissions = finding!.evidence.submissions as Array<Record<string, unknown>>;
    expect(submissions.find((s) => s.account_id === 1)).to.have.property("user_agent", "agent/1");
    expect(submissions.find((s) => s.account_id === 2)).to.not.have.property("user_agent");
  });
});
