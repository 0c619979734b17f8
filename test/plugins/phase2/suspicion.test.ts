import { expect } from "chai";
import { Client, type TestCtf } from "../../helpers/ctf.js";
import { attempt, findings, from, runJob, settle, solve, startPhase2 } from "./helpers.js";

describe("phase2 flag-sharing suspicion", function () {
  this.timeout(120_000);
  let t: TestCtf;
  let players: Client[];
  const ids = () => players.map((p) => p.user!.id);

  before(async () => {
    t = await startPhase2();
    players = [];
    for (let i = 0; i < 4; i++) players.push(await t.register(`sus_${i}`));
  });
  after(async () => t?.stop());

  it("same wrong answer from two accounts: a finding; a trivial or a different answer: none; a second run adds no duplicate", async () => {
    const challenge = await t.challenge({ value: 100 });
    const quiet = await t.challenge({ value: 100 });
    const [a, b] = players;
    await attempt(a!, challenge, "flag{shared-guess}", from("203.0.113.1"));
    await attempt(b!, challenge, "flag{shared-guess}", from("203.0.113.2"));
    await attempt(a!, quiet, "x", from("203.0.113.1"));
    await attempt(b!, quiet, "x", from("203.0.113.2"));
    await attempt(a!, quiet, "flag{mine}", from("203.0.113.1"));
    await attempt(b!, quiet, "flag{theirs}", from("203.0.113.2"));
    await runJob(t, "analytics");

    const found = await findings(t, `?challenge_id=${challenge}`);
    expect(found).to.have.length(1);
    expect(found[0]).to.include({ pattern: "shared_wrong_answer", challenge_id: challenge, risk: "MEDIUM", verdict: null });
    expect(found[0]!.accounts).to.deep.equal([a!.user!.id, b!.user!.id].sort((x, y) => x - y));
    expect(found[0]!.evidence).to.include({ answer_length: "flag{shared-guess}".length });
    expect(JSON.stringify(found[0]!.evidence), "no answer text in the evidence").to.not.include("shared-guess");
    expect(await findings(t, `?challenge_id=${quiet}`), "trivial and different answers are no evidence").to.deep.equal([]);

    await runJob(t, "analytics");
    const again = await findings(t, `?challenge_id=${challenge}`);
    expect(again.map((f) => f.id), "the same finding, updated, not a new one").to.deep.equal([found[0]!.id]);
  });

  it("different accounts solving from one address within seconds: HIGH, address hashed; from different addresses: none", async () => {
    const challenge = await t.challenge({ value: 100 });
    const apart = await t.challenge({ value: 100 });
    const [a, b, c, d] = players;
    expect((await a!.request("PUT", "/api/v1/phase2/consent", { consent: true })).status).to.equal(200);
    await solve(a!, challenge, "flag{test}", from("198.51.100.77", "consenting-browser/1.0"));
    await solve(b!, challenge, "flag{test}", from("198.51.100.77", "private-browser/2.0"));
    await solve(c!, apart, "flag{test}", from("198.51.100.10"));
    await solve(d!, apart, "flag{test}", from("198.51.100.11"));
    await runJob(t, "analytics");

    const found = await findings(t, `?challenge_id=${challenge}`);
    expect(found.map((f) => [f.pattern, f.risk])).to.deep.equal([["same_address_solve", "HIGH"]]);
    const evidence = JSON.stringify(found[0]!.evidence);
    expect(evidence, "no raw address in the evidence").to.not.include("198.51.100.77");
    expect(found[0]!.evidence.address_hash).to.match(/^[0-9a-f]{24}$/);
    expect(evidence, "the consenting user's agent is kept").to.include("consenting-browser/1.0");
    expect(evidence, "the other user's is not").to.not.include("private-browser/2.0");
    expect(await findings(t, `?challenge_id=${apart}`)).to.deep.equal([]);
  });

  it("whale's flag.reused: a certain (HIGH, confidence 1) finding, stored once however often it happens", async () => {
    const challenge = await t.challenge({ value: 100 });
    const [a, b] = ids();
    const reuse = { challengeId: challenge, submitterAccountId: b, submitterUserId: b, ownerAccountId: a, accountType: "user" };
    for (let i = 0; i < 3; i++) expect((await t.admin.post("/phase2-whale/flag-reused", reuse)).status).to.equal(200);
    await settle(t);
    const found = await findings(t, `?challenge_id=${challenge}`);
    expect(found.map((f) => [f.pattern, f.risk, f.confidence])).to.deep.equal([["flag_reused", "HIGH", 1]]);
    expect(await findings(t, `?risk=HIGH&challenge_id=${challenge}`)).to.have.length(1);
    expect(await findings(t, `?risk=LOW&challenge_id=${challenge}`)).to.deep.equal([]);
  });

  it("nothing is punished: the accounts behind findings still play and score", async () => {
    const res = await t.admin.get(`/api/v1/users/${ids()[0]}`);
    expect(res.body.data).to.include({ banned: false, hidden: false });
  });

  it("refuses bad queries and bodies with 400 naming the field, and players with 403", async () => {
    const bad = await t.admin.get("/api/v1/phase2/suspicious_activity?risk=EXTREME");
    expect(bad.status).to.equal(400);
    expect(bad.body.errors).to.have.property("risk");
    const [finding] = await findings(t);
    const verdict = await t.admin.post(`/api/v1/phase2/suspicious_activity/${finding!.id}/review`, { verdict: "guilty" });
    expect(verdict.status).to.equal(400);
    expect(verdict.body.errors).to.have.property("verdict");
    expect((await t.admin.post(`/api/v1/phase2/suspicious_activity/abc/review`, { verdict: "innocent" })).status).to.equal(400);
    expect((await t.admin.post(`/api/v1/phase2/suspicious_activity/99999/review`, { verdict: "innocent" })).status).to.equal(404);
    expect((await players[0]!.get("/api/v1/phase2/suspicious_activity")).status).to.equal(403);
    expect((await t.anonymous().get("/api/v1/phase2/consent")).status).to.equal(401);
    expect((await players[0]!.request("PUT", "/api/v1/phase2/consent", { consent: "yes" })).status).to.equal(400);
  });
});
