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
  return { response, received, close: async () => (controller.abort(), await reading) };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
};

describe("core/ctf: /events, CTFd's live notification stream", () => {
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
