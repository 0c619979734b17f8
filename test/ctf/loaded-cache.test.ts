import { expect } from "chai";
import { LoadedCache } from "../../core/ctf/loaded-cache.js";

/**
 * The cache core/ctf's settings, challenges and hints share, with reads the test answers by hand: what a read that
 * began before an invalidation or a replace saw is never kept, and an old copy serves while it is read again.
 */
describe("loaded cache: reads against invalidations, replacements and age", () => {
  let pending: Array<(value: string) => void>;
  let reads: number;
  const read = () => {
    reads++;
    return new Promise<string>((resolve) => pending.push(resolve));
  };
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  beforeEach(() => {
    pending = [];
    reads = 0;
  });

  it("shares one read between concurrent callers and keeps its value", async () => {
    const cache = new LoadedCache(read, 60_000);
    expect(cache.peek()).to.equal(null);
    const [a, b] = [cache.get(), cache.get()];
    expect(reads).to.equal(1);
    pending.shift()!("v1");
    expect([await a, await b]).to.deep.equal(["v1", "v1"]);
    expect(cache.peek()).to.equal("v1");
    expect(await cache.get()).to.equal("v1");
    expect(reads).to.equal(1);
  });

  it("does not keep, nor hand to later callers, a read that began before an invalidation", async () => {
    const cache = new LoadedCache(read, 60_000);
    const before = cache.get();
    cache.invalidate();
    const after = cache.get();
    expect(reads).to.equal(2);
    pending.shift()!("stale");
    expect(await before).to.equal("stale");
    expect(cache.peek()).to.equal(null);
    pending.shift()!("fresh");
    expect(await after).to.equal("fresh");
    expect(cache.peek()).to.equal("fresh");
  });

  it("keeps a replaced value over a read that began before the replacement", async () => {
    const cache = new LoadedCache(read, 60_000);
    const first = cache.get();
    pending.shift()!("v1");
    await first;
    const refresh = cache.refresh();
    expect(cache.readInFlight).to.equal(true);
    cache.replace("patched");
    pending.shift()!("read-before-patch");
    expect(await refresh).to.equal(false);
    expect(cache.peek()).to.equal("patched");
  });

  it("serves an old copy while one re-read runs, then the re-read", async () => {
    const cache = new LoadedCache(read, 0); // everything is old at once
    const first = cache.get();
    pending.shift()!("v1");
    await first;
    expect(cache.peek()).to.equal("v1");
    expect(await cache.get()).to.equal("v1");
    expect(reads).to.equal(2); // one re-read for both callers
    pending.shift()!("v2");
    await flush();
    expect(cache.peek()).to.equal("v2");
  });

  it("leaves an old copy in place when its re-read fails", async () => {
    let fail = true;
    const cache = new LoadedCache(() => (fail ? Promise.reject(new Error("database away")) : Promise.resolve("v")), 0);
    fail = false;
    expect(await cache.get()).to.equal("v");
    fail = true;
    expect(cache.peek()).to.equal("v");
    await flush();
    expect(cache.peek()).to.equal("v");
  });
});
