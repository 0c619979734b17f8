import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { Redis } from "ioredis";
import { createMemoryCoordination } from "../../core/kernel/coordination/memory.js";
import { createRedisCoordination } from "../../core/kernel/coordination/redis.js";
import type { Coordination } from "../../core/kernel/coordination/types.js";
import { backends } from "../helpers/backends.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => boolean, timeoutMs = 2_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(10);
  }
}

/** One contract, every adapter: what the kernel and plugins may rely on, whichever backend runs. */
function contract(name: string, make: () => Coordination, cleanUp?: () => Promise<void>) {
  describe(`coordination contract: ${name}`, () => {
    let c: Coordination;
    beforeEach(() => {
      c = make();
    });
    afterEach(() => c.close());
    if (cleanUp) after(cleanUp);

    describe("locks", () => {
      it("gives a key to one holder at a time until it is released", async () => {
        const first = await c.acquireLock("lock:a", 5_000);
        expect(first).to.not.equal(null);
        expect(await c.acquireLock("lock:a", 5_000)).to.equal(null);
        expect(await c.acquireLock("lock:other", 5_000)).to.not.equal(null); // keys are independent
        expect(await first!.release()).to.equal(true);
        expect(await first!.release()).to.equal(false); // already gone
        const second = await c.acquireLock("lock:a", 5_000);
        expect(second).to.not.equal(null);
        expect(second!.token).to.not.equal(first!.token);
      });

      it("expires after the TTL, and a stale holder can neither release nor extend the new holder's lock", async () => {
        const stale = await c.acquireLock("lock:b", 150);
        expect(await c.acquireLock("lock:b", 5_000)).to.equal(null);
        await sleep(250);
        const fresh = await c.acquireLock("lock:b", 5_000);
        expect(fresh).to.not.equal(null);
        expect(await stale!.release()).to.equal(false);
        expect(await stale!.extend(5_000)).to.equal(false);
        expect(await c.acquireLock("lock:b", 5_000)).to.equal(null); // fresh still holds it
        expect(await fresh!.release()).to.equal(true);
      });

      it("extends a held lock past its original TTL, but not once released", async () => {
        const lock = await c.acquireLock("lock:c", 200);
        expect(await lock!.extend(2_000)).to.equal(true);
        await sleep(300);
        expect(await c.acquireLock("lock:c", 1_000)).to.equal(null);
        expect(await lock!.release()).to.equal(true);
        expect(await lock!.extend(2_000)).to.equal(false);
        expect(await c.acquireLock("lock:c", 1_000)).to.not.equal(null);
      });
    });

    describe("streams", () => {
      it("assigns increasing <ms>-<seq> ids and refuses an entry without fields", async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push(await c.streamAdd("ids", { n: String(i) }));
        for (const id of ids) expect(id).to.match(/^\d+-\d+$/);
        const asPairs = ids.map((id) => id.split("-").map(BigInt) as [bigint, bigint]);
        for (let i = 1; i < asPairs.length; i++) {
          const [[ms0, seq0], [ms1, seq1]] = [asPairs[i - 1]!, asPairs[i]!];
          expect(ms1 > ms0 || (ms1 === ms0 && seq1 > seq0), `${ids[i]} after ${ids[i - 1]}`).to.equal(true);
        }
        expect(await c.streamLength("ids")).to.equal(5);
        expect(await c.streamLength("never-written")).to.equal(0);
        let error: unknown;
        await c.streamAdd("ids", {}).catch((e) => (error = e));
        expect(error).to.be.instanceOf(Error);
        expect(await c.streamLength("ids")).to.equal(5);
      });

      it("delivers each entry to one consumer of a group, in order, every group gets all, and tracks what is pending", async () => {
        await c.streamEnsureGroup("jobs", "workers");
        await c.streamEnsureGroup("jobs", "workers"); // idempotent
        const ids: string[] = [];
        for (let i = 0; i < 6; i++) ids.push(await c.streamAdd("jobs", { n: String(i) }));
        await c.streamEnsureGroup("jobs", "audit"); // created late, still reads from the start
        const a = await c.streamRead("jobs", "workers", "a", { count: 4 });
        const b = await c.streamRead("jobs", "workers", "b", { count: 4 });
        expect(a.map((e) => e.fields.n)).to.deep.equal(["0", "1", "2", "3"]);
        expect(b.map((e) => e.fields.n)).to.deep.equal(["4", "5"]);
        expect([...a, ...b].every((e) => e.deliveries === 1)).to.equal(true);
        expect([...a, ...b].map((e) => e.id)).to.deep.equal(ids);
        expect((await c.streamRead("jobs", "audit", "x", { count: 100 })).map((e) => e.id)).to.deep.equal(ids);
        expect(await c.streamPending("jobs", "workers")).to.deep.equal({ count: 6, consumers: { a: 4, b: 2 }, oldestId: ids[0] });
        expect(await c.streamAck("jobs", "workers", a.map((e) => e.id))).to.equal(4);
        expect(await c.streamAck("jobs", "workers", [a[0]!.id])).to.equal(0); // acking twice counts nothing
        // The oldest entry still pending is b's first: a's four are acknowledged.
        expect(await c.streamPending("jobs", "workers")).to.deep.equal({ count: 2, consumers: { b: 2 }, oldestId: b[0]!.id });
        expect(await c.streamRead("jobs", "workers", "a")).to.deep.equal([]);
        await c.streamAdd("jobs", { n: "6" });
        expect((await c.streamRead("jobs", "workers", "a")).map((e) => e.fields.n)).to.deep.equal(["6"]);
      });

      it("lets another consumer claim entries left unacknowledged too long, counting the delivery", async () => {
        await c.streamEnsureGroup("starts", "workers");
        for (const container of ["x", "y", "z"]) await c.streamAdd("starts", { container });
        const [x, y, z] = await c.streamRead("starts", "workers", "dead-worker");
        await c.streamAck("starts", "workers", [y!.id]); // acked entries are never claimed
        expect(await c.streamClaimStale("starts", "workers", "rescuer", 10_000)).to.deep.equal([]); // not idle long enough
        await sleep(150);
        const claimed = await c.streamClaimStale("starts", "workers", "rescuer", 100, 1);
        expect(claimed).to.deep.equal([{ id: x!.id, fields: { container: "x" }, deliveries: 2 }]);
        expect(await c.streamPending("starts", "workers")).to.deep.equal({ count: 2, consumers: { rescuer: 1, "dead-worker": 1 }, oldestId: x!.id });
        expect((await c.streamClaimStale("starts", "workers", "rescuer", 100)).map((e) => e.id)).to.deep.equal([z!.id]);
        await sleep(150);
        const again = await c.streamClaimStale("starts", "workers", "third", 100);
        expect(again.map((e) => [e.id, e.deliveries])).to.deep.equal([
          [x!.id, 3],
          [z!.id, 3],
        ]);
        expect(await c.streamAck("starts", "workers", [x!.id, z!.id])).to.equal(2);
        expect(await c.streamPending("starts", "workers")).to.deep.equal({ count: 0, consumers: {}, oldestId: null });
      });

      it("finds stale entries behind many fresher ones", async () => {
        await c.streamEnsureGroup("backlog", "workers");
        const ids: string[] = [];
        for (let i = 0; i < 25; i++) ids.push(await c.streamAdd("backlog", { n: String(i) }));
        expect(await c.streamRead("backlog", "workers", "a", { count: 25 })).to.have.length(25);
        await sleep(150);
        expect(await c.streamClaimStale("backlog", "workers", "b", 100, 20)).to.have.length(20); // now fresh again
        const claimed = await c.streamClaimStale("backlog", "workers", "c", 100, 1);
        expect(claimed.map((e) => [e.id, e.deliveries])).to.deep.equal([[ids[20], 2]]);
      });

      it("returns nothing after the block time, and wakes a blocked read when an entry arrives", async () => {
        await c.streamEnsureGroup("wake", "g");
        let started = Date.now();
        expect(await c.streamRead("wake", "g", "a", { blockMs: 150 })).to.deep.equal([]);
        expect(Date.now() - started).to.be.at.least(140);
        const blocked = c.streamRead("wake", "g", "a", { blockMs: 5_000 });
        await sleep(100);
        started = Date.now();
        await c.streamAdd("wake", { hello: "world" });
        const woken = await blocked;
        expect(woken.map((e) => e.fields)).to.deep.equal([{ hello: "world" }]);
        expect(Date.now() - started).to.be.below(1_000);
      });

      it("splits arrivals between consumers blocked in one group, without duplicates", async () => {
        await c.streamEnsureGroup("split", "g");
        const reads = [c.streamRead("split", "g", "a", { count: 1, blockMs: 3_000 }), c.streamRead("split", "g", "b", { count: 1, blockMs: 3_000 })];
        await sleep(200);
        const first = await c.streamAdd("split", { n: "1" });
        await sleep(100);
        const second = await c.streamAdd("split", { n: "2" });
        const [a, b] = await Promise.all(reads);
        expect(a).to.have.length(1);
        expect(b).to.have.length(1);
        expect([a![0]!.id, b![0]!.id].sort()).to.deep.equal([first, second].sort());
        expect((await c.streamPending("split", "g")).consumers).to.deep.equal({ a: 1, b: 1 });
      });

      it("wakes blocked readers with nothing on close, after which ping is false", async () => {
        const other = make();
        await other.streamEnsureGroup("closing", "g");
        const blocked = other.streamRead("closing", "g", "a", { blockMs: 10_000 });
        await sleep(100);
        const started = Date.now();
        await other.close();
        expect(await blocked).to.deep.equal([]);
        expect(Date.now() - started).to.be.below(1_000);
        expect(await other.ping()).to.equal(false);
        await other.close(); // idempotent
      });
    });

    describe("pub/sub", () => {
      it("delivers to every subscriber of the channel, and to none after unsubscribe", async () => {
        const got: string[] = [];
        const off1 = await c.subscribe("news", (m) => got.push(`1:${m}`));
        const off2 = await c.subscribe("news", (m) => got.push(`2:${m}`));
        const offOther = await c.subscribe("sport", (m) => got.push(`sport:${m}`));
        await c.publish("news", "hello");
        await waitUntil(() => got.length >= 2);
        await sleep(50);
        expect([...got].sort()).to.deep.equal(["1:hello", "2:hello"]);
        await off1();
        await c.publish("news", "second");
        await waitUntil(() => got.length >= 3);
        await sleep(50);
        expect(got.slice(2)).to.deep.equal(["2:second"]);
        await off2();
        await c.publish("news", "after");
        await sleep(100);
        expect(got).to.have.length(3);
        await offOther();
      });

      it("keeps delivering to other subscribers when one throws, and reports it as a warning", async () => {
        const warnings: string[] = [];
        const onWarning = (w: Error) => warnings.push(w.message);
        process.on("warning", onWarning);
        try {
          const got: string[] = [];
          const offBad = await c.subscribe("fragile", () => {
            throw new Error("subscriber bug");
          });
          const offGood = await c.subscribe("fragile", (m) => got.push(m));
          await c.publish("fragile", "one");
          await c.publish("fragile", "two");
          await waitUntil(() => got.length === 2 && warnings.length === 2);
          expect(got).to.deep.equal(["one", "two"]);
          expect(warnings[0]).to.include("subscriber bug");
          await offBad();
          await offGood();
        } finally {
          process.off("warning", onWarning);
        }
      });
    });

    describe("cache", () => {
      it("stores, overwrites, expires and deletes values", async () => {
        await c.cacheSet("k1", "v1", 5_000);
        await c.cacheSet("k2", "v2", 100);
        expect(await c.cacheGet("k1")).to.equal("v1");
        expect(await c.cacheGet("k2")).to.equal("v2");
        expect(await c.cacheGet("missing")).to.equal(null);
        await c.cacheSet("k1", "v1b", 5_000);
        expect(await c.cacheGet("k1")).to.equal("v1b");
        await sleep(200);
        expect(await c.cacheGet("k2")).to.equal(null);
        expect(await c.cacheGet("k1")).to.equal("v1b");
        await c.cacheDelete("k1");
        expect(await c.cacheGet("k1")).to.equal(null);
      });

      it("lists the live entries under a prefix, taking the prefix literally", async () => {
        await c.cacheSet("reg:a", "1", 5_000);
        await c.cacheSet("reg:b", "2", 5_000);
        await c.cacheSet("reg:gone", "3", 100);
        await c.cacheSet("regular", "not under reg:", 5_000);
        await c.cacheSet("re*:x", "glob chars are not patterns", 5_000);
        await sleep(200);
        expect(Object.fromEntries(await c.cacheScan("reg:"))).to.deep.equal({ "reg:a": "1", "reg:b": "2" });
        expect([...(await c.cacheScan("re*:")).keys()]).to.deep.equal(["re*:x"]);
        expect((await c.cacheScan("nothing-here:")).size).to.equal(0);
        await c.cacheDelete("reg:a");
        expect([...(await c.cacheScan("reg:")).keys()]).to.deep.equal(["reg:b"]);
      });
    });

    it("keeps locks, cache keys, streams and rate limits with the same name apart", async () => {
      await c.cacheSet("shared", "cached", 5_000);
      const lock = await c.acquireLock("shared", 5_000);
      expect(lock).to.not.equal(null);
      await c.streamAdd("shared", { a: "b" });
      expect((await c.rateLimit("shared", { capacity: 1, refillPerSecond: 1 })).allowed).to.equal(true);
      expect(await c.cacheGet("shared")).to.equal("cached");
      expect(await c.streamLength("shared")).to.equal(1);
      await c.cacheDelete("shared");
      expect(await lock!.release()).to.equal(true);
    });

    describe("rate limits", () => {
      it("allows the bucket's capacity, then refuses with a retry time, then refills", async () => {
        const rule = { capacity: 3, refillPerSecond: 10 };
        const results = [];
        for (let i = 0; i < 4; i++) results.push(await c.rateLimit("rl:user1", rule));
        expect(results.map((r) => r.allowed)).to.deep.equal([true, true, true, false]);
        expect(results.map((r) => r.remaining)).to.deep.equal([2, 1, 0, 0]);
        expect(results.slice(0, 3).every((r) => r.retryAfterMs === 0)).to.equal(true);
        expect(results[3]!.retryAfterMs).to.be.greaterThan(0).and.at.most(100);
        expect((await c.rateLimit("rl:user2", rule)).allowed).to.equal(true); // independent keys
        await sleep(results[3]!.retryAfterMs + 30);
        expect((await c.rateLimit("rl:user1", rule)).allowed).to.equal(true);
        expect((await c.rateLimit("rl:user1", rule)).allowed).to.equal(false); // only one token came back
      });

      it("charges a cost larger than one, and refuses one larger than the bucket", async () => {
        const rule = { capacity: 10, refillPerSecond: 0.001 };
        expect(await c.rateLimit("rl:cost", rule, 7)).to.deep.include({ allowed: true, remaining: 3, retryAfterMs: 0 });
        const refused = await c.rateLimit("rl:cost", rule, 7);
        expect(refused).to.deep.include({ allowed: false, remaining: 3 });
        expect(refused.retryAfterMs).to.be.greaterThan(3_000_000); // 4 tokens at 0.001/s
        expect(await c.rateLimit("rl:cost", rule, 3)).to.deep.include({ allowed: true, remaining: 0 }); // refusal took nothing
        expect((await c.rateLimit("rl:huge", rule, 11)).allowed).to.equal(false);
      });
    });

    it("answers ping", async () => {
      expect(await c.ping()).to.equal(true);
    });
  });
}

contract("in-process", () => createMemoryCoordination());

// The Redis adapter runs whenever REDIS_URL is set (always in CI; test/run.ts reports when it is not).
if (backends.redisUrl) {
  const redisUrl = backends.redisUrl;
  const runPrefix = `flaghost-test:${randomUUID()}:`;
  let instance = 0;
  contract(
    "Redis",
    // A prefix per adapter so tests never see each other's keys; all under one run prefix for the clean-up.
    () => createRedisCoordination(redisUrl, `${runPrefix}${instance++}:`),
    async () => {
      const redis = new Redis(redisUrl);
      try {
        let cursor = "0";
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${runPrefix}*`, "COUNT", 500);
          if (keys.length > 0) await redis.del(...keys);
          cursor = next;
        } while (cursor !== "0");
      } finally {
        await redis.quit();
      }
    },
  );
}
