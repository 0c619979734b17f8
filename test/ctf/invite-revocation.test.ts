import { expect } from "chai";
import { startCtf, type Client, type TestCtf } from "../helpers/ctf.js";

/**
 * Issue 11, hole 15: invite codes are revocable. A new team password (set by the captain or an admin) or the
 * captain's "revoke invites" action invalidates every outstanding code; codes made afterwards work.
 */
describe("team invite codes can be revoked", function () {
  this.timeout(120_000);
  let t: TestCtf;
  before(async () => {
    t = await startCtf({ mode: "teams" });
  });
  after(() => t?.stop());

  let teams = 0;
  async function teamWithCaptain(): Promise<{ captain: Client; teamId: number }> {
    const captain = await t.register();
    const res = await captain.post("/api/v1/teams/new", { name: `revoking-${++teams}`, password: "team-password-1" });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return { captain, teamId: res.body.data.id };
  }
  const inviteOf = async (captain: Client) => (await captain.post("/api/v1/teams/me/members")).body.data.code as string;
  const joinWith = async (code: string) => (await (await t.register()).post("/api/v1/teams/join", { code }));
  const refused = (res: { status: number; body: any }) => {
    expect(res.status, JSON.stringify(res.body)).to.equal(403);
    expect(res.body.errors).to.have.property("code");
  };

  it("a new team password from the captain revokes every outstanding code", async () => {
    const { captain } = await teamWithCaptain();
    const before = [await inviteOf(captain), await inviteOf(captain)];
    const changed = await captain.patch("/api/v1/teams/me", { password: "new-team-password-2", confirm: "team-password-1" });
    expect(changed.status, JSON.stringify(changed.body)).to.equal(200);
    for (const code of before) refused(await joinWith(code));
    expect((await joinWith(await inviteOf(captain))).status).to.equal(200);
  });

  it("a new team password set by an admin revokes them too", async () => {
    const { captain, teamId } = await teamWithCaptain();
    const code = await inviteOf(captain);
    expect((await t.admin.patch(`/api/v1/teams/${teamId}`, { password: "admin-set-password-3" })).status).to.equal(200);
    refused(await joinWith(code));
  });

  it("the captain's revoke action invalidates outstanding codes without a new password", async () => {
    const { captain } = await teamWithCaptain();
    const code = await inviteOf(captain);
    const revoked = await captain.delete("/api/v1/teams/me/invites");
    expect(revoked.status, JSON.stringify(revoked.body)).to.equal(200);
    refused(await joinWith(code));
    expect((await joinWith(await inviteOf(captain))).status).to.equal(200);
    // The password still works.
    const byPassword = await (await t.register()).post("/api/v1/teams/join", { name: `revoking-${teams}`, password: "team-password-1" });
    expect(byPassword.status).to.equal(200);
  });

  it("only the captain may revoke", async () => {
    const { captain } = await teamWithCaptain();
    const member = await t.register();
    expect((await member.post("/api/v1/teams/join", { code: await inviteOf(captain) })).status).to.equal(200);
    expect((await member.delete("/api/v1/teams/me/invites")).status).to.equal(403);
  });

  it("other edits keep the codes", async () => {
    const { captain } = await teamWithCaptain();
    const code = await inviteOf(captain);
    expect((await captain.patch("/api/v1/teams/me", { affiliation: "lab" })).status).to.equal(200);
    expect((await joinWith(code)).status).to.equal(200);
  });
});
