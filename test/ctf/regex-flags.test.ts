import { expect } from "chai";
import { startCtf, type TestCtf } from "../helpers/ctf.js";

/**
 * Issue 11, hole 7: an admin-written regex runs on the event loop for every attempt. Patterns that can backtrack
 * without bound are refused when the flag is written, and the regex sees a bounded submission.
 */
describe("core/ctf: regex flags", function () {
  this.timeout(120_000);
  let t: TestCtf;
  let challenge: number;
  before(async () => {
    t = await startCtf();
    challenge = await t.challenge({}, "flag{static}");
  });
  after(() => t.stop());

  const createRegex = (content: string) => t.admin.post("/api/v1/flags", { challenge_id: challenge, type: "regex", content });
  const attempt = async (challenge_id: number, submission: string) =>
    (await (await t.register()).post("/api/v1/challenges/attempt", { challenge_id, submission })).body.data.status;

  const refused = [
    ["nested quantifier", "(a+)+$"],
    ["nested quantifier in a non-capturing group", "flag\\{(?:\\w*)*\\}"],
    ["nested counted quantifier", "(?:.{0,40}){0,40}x"],
    ["quantified alternation", "(a|aa)*b"],
    ["quantified group holding a lookahead with a quantifier", "(?:(?=a+)a)*b"],
    ["backreference", "(\\w+)-\\1"],
    ["named backreference", "(?<w>\\w)\\k<w>"],
    ["too many unbounded quantifiers", "flag\\{.*.*.*.*x\\}"],
  ];
  for (const [what, pattern] of refused) {
    it(`refuses a ${what}: ${pattern}`, async () => {
      const res = await createRegex(pattern!);
      expect(res.status, JSON.stringify(res.body)).to.equal(400);
      expect(res.body.errors.content).to.be.an("array").with.length(1);
    });
  }

  it("refuses the same patterns on update", async () => {
    const created = await createRegex("flag\\{ok\\}");
    expect(created.status).to.equal(200);
    const res = await t.admin.patch(`/api/v1/flags/${created.body.data.id}`, { content: "(x+)+y" });
    expect(res.status).to.equal(400);
    expect(res.body.errors.content).to.be.an("array");
  });

  it("accepts ordinary flag patterns, literal quantifier characters in classes and escapes included", async () => {
    for (const pattern of ["flag\\{[0-9a-f]{32}\\}", "flag\\{[a-z]+_[0-9]+\\}", "flag\\{(yes|no)\\}", "flag\\{[(+*)]+\\}", "flag\\{\\(a\\+\\)\\+\\}", "(?:ab)+c"]) {
      const res = await createRegex(pattern);
      expect(res.status, `${pattern}: ${JSON.stringify(res.body)}`).to.equal(200);
    }
  });

  it("a regex sees at most 256 characters: a longer submission is incorrect without being run", async () => {
    const c = await t.challenge({}, { content: "flag\\{a*\\}", type: "regex" });
    expect(await attempt(c, `flag{${"a".repeat(250)}}`)).to.equal("correct");
    expect(await attempt(c, `flag{${"a".repeat(251)}}`)).to.equal("incorrect");
  });

  it("a changed pattern takes effect at once (the compiled regex follows the flag)", async () => {
    const c = await t.challenge({}, { content: "flag\\{one\\}", type: "regex" });
    expect(await attempt(c, "flag{one}")).to.equal("correct");
    const [flag] = (await t.admin.get(`/api/v1/challenges/${c}/flags`)).body.data.filter((f: any) => f.type === "regex");
    expect((await t.admin.patch(`/api/v1/flags/${flag.id}`, { content: "flag\\{two\\}" })).status).to.equal(200);
    expect(await attempt(c, "flag{one}")).to.equal("incorrect");
    expect(await attempt(c, "flag{two}")).to.equal("correct");
    expect((await t.admin.patch(`/api/v1/flags/${flag.id}`, { data: "case_insensitive" })).status).to.equal(200);
    expect(await attempt(c, "FLAG{TWO}")).to.equal("correct");
  });
});
