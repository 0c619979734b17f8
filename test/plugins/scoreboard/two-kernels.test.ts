import { expect } from "chai";
import type { TestCtf } from "../../helpers/ctf.js";
import { boardOf, ranking, settle, solve, startScoreboard } from "./helpers.js";

/** Plugins keep no module state: two kernels in one process each have their own core/ctf and scoreboard. */
describe("two kernels in one process", function () {
  this.timeout(180_000);
  let one: TestCtf;
  let two: TestCtf;
  before(async () => {
    [one, two] = [await startScoreboard(), await startScoreboard()];
  });
  after(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
  });

  it("a solve in one changes only that kernel's scoreboard", async () => {
    const [challengeOne, challengeTwo] = [await one.challenge({ value: 300 }), await two.challenge({ value: 50 })];
    const [ada, grace] = [await one.register("ada"), await two.register("grace")];
    await solve(ada, challengeOne);
    await Promise.all([settle(one), settle(two)]);
    expect(ranking(await boardOf(one.anonymous()))).to.deep.equal([["ada", 300]]);
    expect(await boardOf(two.anonymous())).to.deep.equal([]);

    await solve(grace, challengeTwo);
    await Promise.all([settle(one), settle(two)]);
    expect(ranking(await boardOf(two.anonymous()))).to.deep.equal([["grace", 50]]);
    expect(ranking(await boardOf(one.anonymous()))).to.deep.equal([["ada", 300]]);
  });
});
