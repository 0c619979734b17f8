/**
 * Coordination.onReconnect on a real Redis restarted under it (a private one: test/helpers/private-services.ts).
 * What a handler may rely on: it is called once per comeback, after the subscriptions are live again, so a
 * message published from then on arrives; and the restart really lost what Redis held.
 */
import { expect } from "chai";
import { createRedisCoordination } from "../../core/kernel/coordination/redis.js";
import type { Coordination } from "../../core/kernel/coordination/types.js";
import { uniqueName } from "../helpers/backends.js";
import { eventually } from "../helpers/kernel.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/private-services.js";

describe("coordination on Redis: reconnecting after a restart", function () {
  this.timeout(60_000);
  let redis: PrivateRedis;
  let listener: Coordination;
  let publisher: Coordination;

  before(async () => {
    redis = await startPrivateRedis();
    const prefix = `${uniqueName("reconnect")}:`;
    listener = createRedisCoordination(redis.url, prefix);
    publisher = createRedisCoordination(redis.url, prefix);
  });
  after(async () => {
    await listener?.close();
    await publisher?.close();
    await redis?.stop();
  });

  it("calls onReconnect once per comeback, with the time away, when a publish reaches the subscription again", async () => {
    const received: string[] = [];
    await listener.subscribe("news", (message) => received.push(message));
    await listener.cacheSet("kept", "yes", 60_000);
    await listener.streamAdd("jobs", { n: "1" });
    const comebacks: number[] = [];
    let deliveredAtCallback: Promise<boolean> | null = null;
    listener.onReconnect((downMs) => {
      comebacks.push(downMs);
      // Published from inside the handler: it must arrive, the subscription being live again by now.
      const marker = `after-${comebacks.length}`;
      deliveredAtCallback = publisher.publish("news", marker).then(() => eventually(() => received.includes(marker), 5_000, 20));
    });

    await redis.down();
    await new Promise((resolve) => setTimeout(resolve, 700));
    // While Redis is away, commands fail rather than wait forever.
    const failed = await listener.cacheGet("kept").then(
      () => false,
      () => true,
    );
    expect(failed).to.equal(true);
    expect(await listener.ping()).to.equal(false);
    await redis.up();

    await eventually(() => comebacks.length === 1, 20_000, 50);
    expect(comebacks[0]).to.be.at.least(700);
    expect(await deliveredAtCallback).to.equal(true);
    // The restart kept nothing: what a handler has to rebuild from the database.
    expect(await listener.cacheGet("kept")).to.equal(null);
    expect(await listener.streamLength("jobs")).to.equal(0);
    expect(await listener.ping()).to.equal(true);

    // A second restart is a second comeback.
    await redis.restart();
    await eventually(() => comebacks.length === 2, 20_000, 50);
    expect(await deliveredAtCallback).to.equal(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(comebacks).to.have.length(2);
  });
});
