import { expect } from "chai";
import { createMemoryCoordination } from "../../core/kernel/coordination/memory.js";
import { createRedisCoordination } from "../../core/kernel/coordination/redis.js";
import type { Coordination } from "../../core/kernel/coordination/types.js";
import { backends, uniqueName } from "../helpers/backends.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One contract, every adapter: what the kernel and plugins may rely on, whichever backend runs. */
function contract(name: string, make: () => Coordination) {
  describe(`coordination contract: ${name}`, () => {
    let c: Coordination;
    beforeEach(() => {
      c = make();
    });
    afterEach(() => c.close());

    describe("locks", () => {
      it("gives a key to one holder at a time until it is released", async () => {
        const first = await c.acquireLock("lock:a", 5_000);
        expect(first).to.not.equal(null);
        expect(await c.acquireLock("lock:a", 5_000)).to.equal(null);
        expect(await first!.release()).to.equal(true);
        const second = await c.acquireLock("lock:a", 5_000);
        expect(second).to.not.equal(null);
        expect(second!.token).to.not.equal(first!.token);
      });

      it("expires after the TTL, and a stale holder can neither release nor extend the new holder's lock", async () => {
        const stale = await c.acquireLock("lock:b", 150);
        await sleep(250);
        const fresh = await c.acquireLock("lock:b", 5_000);
        expect(fresh).to.not.equal(null);
        expect(await stale!.release()).to.equal(false);
        expect(await stale!.extend(5_000)).to.equal(false);
        expect(await c.acquireLock("lock:b", 5_000)).to.equal(null); // fresh still holds it
        expect(await fresh!.release()).to.equal(true);
      });

      it("extends a held lock past its original TTL", async () => {
        const lock = await c.acquireLock("lock:c", 200);
        expect(await lock!.extend(2_000)).to.equal(true);
        await sleep(300);
        expect(await c.acquireLock("lock:c", 1_000)).to.equal(null);
      });
    });

    describe("streams", () => {
      it("delivers each entry to one consumer of a group, in order, and tracks what is pending", async () => {
        await c.streamEnsureGroup("jobs", "workers");
        await c.streamEnsureGroup("jobs", "workers"); // idempotent
        const ids = [];
        for (let i = 0; i < 6; i++) ids.push(await c.streamAdd("jobs", { n: String(i) }));
        expect(await c.streamLength("jobs")).to.equal(6);
        const a = await c.streamRead("jobs", "workers", "a", { count: 4 });
        const b = await c.streamRead("jobs", "workers", "b", { count: 4 });
        expect(a.map((e) => e.fields.n)).to.deep.equal(["0", "1", "2", "3"]);
        expect(b.map((e) => e.fields.n)).to.deep.equal(["4", "5"]);
        expect(a.every((e) => e.deliveries === 1)).to.equal(true);
        expect([...a, ...b].map((e) => e.id)).to.deep.equal(ids);
        expect(await c.streamPending("jobs", "workers")).to.deep.equal({ count: 6, consumers: { a: 4, b: 2 } });
        expect(await c.streamAck("jobs", "workers", a.map((e) => e.id))).to.equal(4);
        expect(await c.streamPending("jobs", "workers")).to.deep.equal({ count: 2, consumers: { b: 2 } });
        expect(await c.streamRead("jobs", "workers", "a")).to.deep.equal([]);
      });

      it("lets another consumer claim entries left unacknowledged too long, counting the delivery", async () => {
        await c.streamEnsureGroup("starts", "workers");
        await c.streamAdd("starts", { container: "x" });
        const [entry] = await c.streamRead("starts", "workers", "dead-worker");
        expect(await c.streamClaimStale("starts", "workers", "rescuer", 10_000)).to.deep.equal([]); // not idle long enough
        await sleep(120);
        const claimed = await c.streamClaimStale("starts", "workers", "rescuer", 100);
        expect(claimed).to.have.length(1);
        expect(claimed[0]).to.deep.include({ id: entry!.id, deliveries: 2 });
        expect(claimed[0]!.fields).to.deep.equal({ container: "x" });
        expect((await c.streamPending("starts", "workers")).consumers).to.deep.equal({ rescuer: 1 });
        await c.streamAck("starts", "workers", [entry!.id]);
        expect((await c.streamPending("starts", "workers")).count).to.equal(0);
      });

      it("wakes a blocked read when an entry arrives, and returns nothing after the block time", async () => {
        await c.streamEnsureGroup("wake", "g");
        const started = Date.now();
        const empty = await c.streamRead("wake", "g", "a", { blockMs: 150 });
        expect(empty).to.deep.equal([]);
        expect(Date.now() - started).to.be.at.least(100);
        const pending = c.streamRead("wake", "g", "a", { blockMs: 5_000 });
        await sleep(50);
        await c.streamAdd("wake", { hello: "world" });
        const woken = await pending;
        expect(woken.map((e) => e.fields)).to.deep.equal([{ hello: "world" }]);
      });
    });

    describe("pub/sub", () => {
      it("delivers to every subscriber, and to none after unsubscribe", async () => {
        const got: string[] = [];
        const off1 = await c.subscribe("news", (m) => got.push(`1:${m}`));
        const off2 = await c.subscribe("news", (m) => got.push(`2:${m}`));
        await c.publish("news", "hello");
        await waitUntil(() => got.length === 2);
        expect(got.sort()).to.deep.equal(["1:hello", "2:hello"]);
        await off1();
        await off2();
        await c.publish("news", "after");
        await sleep(100);
        expect(got).to.have.length(2);
      });
    });

    describe("cache", () => {
      it("stores, expires and deletes values", async () => {
        await c.cacheSet("k1", "v1", 5_000);
        await c.cacheSet("k2", "v2", 100);
        expect(await c.cacheGet("k1")).to.equal("v1");
        expect(await c.cacheGet("missing")).to.equal(null);
        await sleep(200);
        expect(await c.cacheGet("k2")).to.equal(null);
        await c.cacheDelete("k1");
        expect(await c.cacheGet("k1")).to.equal(null);
      });
    });

    describe("rate limits", () => {
      it("allows the bucket's capacity, then refuses with a retry time, then refills", async () => {
        const rule = { capacity: 3, refillPerSecond: 10 };
        const results = [];
        for (let i = 0; i < 4; i++) results.push(await c.rateLimit("rl:user1", rule));
        expect(results.map((r) => r.allowed)).to.deep.equal([true, true, true, false]);
        expect(results[2]!.remaining).to.equal(0);
        expect(results[3]!.retryAfterMs).to.be.greaterThan(0).and.at.most(100);
        expect((await c.rateLimit("rl:user2", rule)).allowed).to.equal(true); // independent keys
        await sleep(results[3]!.retryAfterMs + 50);
        expect((await c.rateLimit("rl:user1", rule)).allowed).to.equal(true);
      });

      it("charges a cost larger than one", async () => {
        const rule = { capacity: 10, refillPerSecond: 0.001 };
        expect(await c.rateLimit("rl:cost", rule, 7)).to.deep.include({ allowed: true, remaining: 3 });
        expect((await c.rateLimit("rl:cost", rule, 7)).allowed).to.equal(false);
      });
    });

    it("answers ping", async () => {
      expect(await c.ping()).to.equal(true);
    });
  });
}

async function waitUntil(check: () => boolean, timeoutMs = 2_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(10);
  }
}

contract("in-process", () => createMemoryCoordination());
// The Redis adapter runs whenever REDIS_URL is set (always in CI; test/run.ts reports when it is not).
if (backends.redisUrl) contract("Redis", () => createRedisCoordination(backends.redisUrl!, `${uniqueName("coord-test")}:`));
