import { expect } from "chai";
import { startCtf, type Client, type TestCtf } from "../helpers/ctf.js";

/**
 * Issue 11, hole 2: `GET /challenges/:id/solves` names solvers and times, so it follows the same account and score
 * visibility rules as `GET /users/:id/solves`, for anonymous callers, players and admins.
 */
describe("core/ctf: a challenge's solver list follows account and score visibility", function () {
  this.timeout(120_000);
  let t: TestCtf;
  let player: Client;
  let challenge: number;
  let solverId: number;

  before(async () => {
    t = await startCtf({ settings: { challenge_visibility: "public" } });
    challenge = await t.challenge({}, "flag{seen}");
    const solver = await t.register();
    solverId = solver.user!.id;
    expect((await solver.post("/api/v1/challenges/attempt", { challenge_id: challenge, submission: "flag{seen}" })).body.data.status).to.equal("correct");
    player = await t.register();
  });
  after(() => t.stop());

  const configure = async (settings: Record<string, unknown>) => expect((await t.admin.patch("/api/v1/configs", settings)).status).to.equal(200);
  afterEach(() => configure({ score_visibility: "public", account_visibility: "public" }));

  /** The status each caller gets from both lists under the current settings: they must agree. */
  const statuses = async () => {
    const out: Record<string, [number, number]> = {};
    for (const [who, client] of [["anonymous", t.anonymous()], ["player", player], ["admin", t.admin]] as const) {
      const [byChallenge, byUser] = await Promise.all([client.get(`/api/v1/challenges/${challenge}/solves`), client.get(`/api/v1/users/${solverId}/solves`)]);
      out[who] = [byChallenge.status, byUser.status];
      if (byChallenge.status === 200) expect(byChallenge.body.data.map((r: any) => r.account_id)).to.deep.equal([solverId]);
      else expect(byChallenge.body.data, `${who} got solvers with ${byChallenge.status}`).to.equal(undefined);
    }
    return out;
  };

  it("public scores and accounts: everyone sees the solvers", async () => {
    expect(await statuses()).to.deep.equal({ anonymous: [200, 200], player: [200, 200], admin: [200, 200] });
  });

  it("score_visibility private: anonymous callers get 401, players and admins see them", async () => {
    await configure({ score_visibility: "private" });
    expect(await statuses()).to.deep.equal({ anonymous: [401, 401], player: [200, 200], admin: [200, 200] });
  });

  it("score_visibility hidden: 403 for everyone but admins", async () => {
    await configure({ score_visibility: "hidden" });
    expect(await statuses()).to.deep.equal({ anonymous: [403, 403], player: [403, 403], admin: [200, 200] });
  });

  it("score_visibility admins: 404 for everyone but admins", async () => {
    await configure({ score_visibility: "admins" });
    expect(await statuses()).to.deep.equal({ anonymous: [404, 404], player: [404, 404], admin: [200, 200] });
  });

  it("account_visibility admins: 404 for everyone but admins", async () => {
    await configure({ account_visibility: "admins" });
    expect(await statuses()).to.deep.equal({ anonymous: [404, 404], player: [404, 404], admin: [200, 200] });
  });

  it("account_visibility private: anonymous callers get 401", async () => {
    await configure({ account_visibility: "private" });
    expect(await statuses()).to.deep.equal({ anonymous: [401, 401], player: [200, 200], admin: [200, 200] });
  });
});
