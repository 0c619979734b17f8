import { expect } from "chai";
import { sessionAt, startAnotherInstance, startCtf, type Client, type TestCtf } from "../helpers/ctf.js";
import { eventually, type TestKernel } from "../helpers/kernel.js";

/**
 * Issue 11, hole 6 across instances: a password change made on one instance ends the user's sessions that another
 * instance has cached (its caller cache would otherwise keep them for minutes).
 */
describe("credential changes reach every instance's caller cache (Postgres + Redis)", function () {
  this.timeout(120_000);
  let a: TestCtf;
  let b: TestKernel;

  before(async () => {
    a = await startCtf({ config: { instanceId: "a" } });
    b = await startAnotherInstance(a);
  });
  after(async () => {
    await b?.kernel.stop();
    await a?.stop();
  });

  /** The same session, used through instance b (its caller is then cached there). */
  const onB = async (client: Client): Promise<Client> => {
    const other = sessionAt(b.url, client);
    expect((await other.get("/api/v1/users/me")).status).to.equal(200);
    return other;
  };
  const sessionEnded = (client: Client) => eventually(async () => (await client.get("/api/v1/users/me")).status === 401);

  it("an admin's password reset on a ends the user's session cached on b", async () => {
    const player = await a.register();
    const cached = await onB(player);
    expect((await a.admin.patch(`/api/v1/users/${player.user!.id}`, { password: "reset-by-admin-1" })).status).to.equal(200);
    await sessionEnded(cached);
  });

  it("the user's own password change on a ends their other session cached on b", async () => {
    const player = await a.register(undefined, "player-password-1");
    const second = a.anonymous();
    expect(second.adopt(await second.post("/api/v1/auth/login", { name: player.user!.name, password: "player-password-1" })).status).to.equal(200);
    const cached = await onB(second);
    expect((await player.patch("/api/v1/users/me", { password: "changed-password-1", confirm: "player-password-1" })).status).to.equal(200);
    await sessionEnded(cached);
    expect((await player.get("/api/v1/users/me")).status).to.equal(200); // the session that made the change stays
  });
});
