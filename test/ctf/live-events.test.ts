import { expect } from "chai";
import { startCtf, type Client, type TestCtf } from "../helpers/ctf.js";

/** Reads server-sent events from /events as a browser's EventSource would, collecting `notification` events. */
async function listen(t: TestCtf, client: Client | null) {
  const controller = new AbortController();
  const response = await fetch(`${t.url}/events`, { headers: client?.cookie ? { cookie: client.cookie } : {}, signal: controller.signal });
  const received: any[] = [];
  const reader = response.body!.getReader();
  let buffer = "";
  const reading = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += new TextDecoder().decode(value);
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event === "notification" && data) received.push(JSON.parse(data));
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return { response, received, ended: reading, close: async () => (controller.abort(), await reading) };
}

/** Whether the server ended the stream within ms (it stays "open" otherwise). */
const endedWithin = (stream: { ended: Promise<void> }, ms = 10_000) =>
  Promise.race([stream.ended.then(() => "ended" as const), new Promise<"open">((r) => setTimeout(() => r("open"), ms).unref())]);

const until = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
};

describe("core/ctf: /events, CTFd's live notification stream", function () {
  this.timeout(120_000);
  let t: TestCtf;
  before(async () => {
    t = await startCtf();
  });
  after(() => t.stop());

  it("streams admin announcements to every listener, and addressed ones only to their account", async () => {
    const alice = await t.register();
    const bob = await t.register();
    const anonymous = await listen(t, null);
    const aliceStream = await listen(t, alice);
    const bobStream = await listen(t, bob);
    try {
      expect(anonymous.response.status).to.equal(200);
      expect(anonymous.response.headers.get("content-type")).to.match(/^text\/event-stream/);
      const everyone = await t.admin.post("/api/v1/notifications", { title: "Heads up", content: "Hint **released**", type: "toast", sound: true });
      expect(everyone.status).to.equal(200);
      const personal = await t.admin.post("/api/v1/notifications", { title: "For Alice", content: "just you", type: "alert", sound: false, user_id: alice.user!.id });
      await until(() => aliceStream.received.length >= 2 && bobStream.received.length >= 1 && anonymous.received.length >= 1);
      expect(anonymous.received.map((n) => n.title)).to.deep.equal(["Heads up"]);
      expect(bobStream.received.map((n) => n.title)).to.deep.equal(["Heads up"]);
      expect(aliceStream.received.map((n) => n.title)).to.deep.equal(["Heads up", "For Alice"]);
      expect(aliceStream.received[0]).to.include({ id: everyone.body.data.id, type: "toast", sound: true, content: "Hint **released**" });
      expect(aliceStream.received[1]).to.include({ id: personal.body.data.id, user_id: alice.user!.id });
    } finally {
      await Promise.all([anonymous.close(), aliceStream.close(), bobStream.close()]);
    }
  });
});

describe("core/ctf: /events re-checks who is listening", function () {
  this.timeout(120_000);

  it("ends the stream of a player who logs out, is banned or is deleted, and keeps the others", async () => {
    const t = await startCtf();
    try {
      const [alice, bob, carol, dave] = [await t.register(), await t.register(), await t.register(), await t.register()];
      const streams = [await listen(t, alice), await listen(t, bob), await listen(t, carol), await listen(t, dave)];
      const [aliceStream, bobStream, carolStream, daveStream] = streams;
      try {
        expect((await alice.post("/api/v1/auth/logout")).status).to.equal(200);
        expect(await endedWithin(aliceStream!), "the logged-out player's stream").to.equal("ended");
        expect((await t.admin.patch(`/api/v1/users/${bob.user!.id}`, { banned: true })).status).to.equal(200);
        expect(await endedWithin(bobStream!), "the banned player's stream").to.equal("ended");
        expect((await t.admin.delete(`/api/v1/users/${carol.user!.id}`)).status).to.equal(200);
        expect(await endedWithin(carolStream!), "the deleted player's stream").to.equal("ended");
        // Everyone else keeps listening, with their own notifications.
        await t.admin.post("/api/v1/notifications", { title: "For Dave", content: "x", type: "toast", sound: false, user_id: dave.user!.id });
        await until(() => daveStream!.received.length >= 1);
        expect(daveStream!.received.map((n) => n.title)).to.deep.equal(["For Dave"]);
      } finally {
        await Promise.all(streams.map((s) => s!.close()));
      }
    } finally {
      await t.stop();
    }
  });

  it("stops sending a team's notifications to a player who left it", async () => {
    const t = await startCtf({ mode: "teams" });
    try {
      const captain = await t.register();
      const member = await t.register();
      const created = await captain.post("/api/v1/teams/new", { name: "Leavers", password: "team-password-1" });
      expect(created.status, JSON.stringify(created.body)).to.equal(200);
      const teamId = created.body.data.id;
      expect((await member.post("/api/v1/teams/join", { name: "Leavers", password: "team-password-1" })).status).to.equal(200);
      const captainStream = await listen(t, captain);
      const memberStream = await listen(t, member);
      try {
        await t.admin.post("/api/v1/notifications", { title: "Team 1", content: "x", type: "toast", sound: false, team_id: teamId });
        await until(() => memberStream.received.length >= 1);
        expect((await member.post("/api/v1/teams/me/leave")).status).to.equal(200);
        await t.admin.post("/api/v1/notifications", { title: "Team 2", content: "x", type: "toast", sound: false, team_id: teamId });
        await t.admin.post("/api/v1/notifications", { title: "Everyone", content: "x", type: "toast", sound: false });
        await until(() => memberStream.received.length >= 2 && captainStream.received.length >= 3);
        expect(captainStream.received.map((n) => n.title)).to.deep.equal(["Team 1", "Team 2", "Everyone"]);
        expect(memberStream.received.map((n) => n.title)).to.deep.equal(["Team 1", "Everyone"]);
      } finally {
        await Promise.all([captainStream.close(), memberStream.close()]);
      }
    } finally {
      await t.stop();
    }
  });
});
