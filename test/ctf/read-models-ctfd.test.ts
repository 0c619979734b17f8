import { expect } from "chai";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { execFileSync } from "node:child_process";
import type { TestCtf } from "../helpers/ctf.js";
import { projectRoot, TEST_ADMIN_TOKEN } from "../helpers/kernel.js";
import { startScoreboard } from "../plugins/scoreboard/helpers.js";

/**
 * The read models on the export CTFd 3.8.7 wrote itself (team mode, a hidden team, a freeze with a solve after it):
 * the challenge list's solve counts are what CTFd's rule gives on CTFd's own rows, read straight from the export's
 * JSON; account pages and the scoreboard agree for every team, in the public (frozen) and the admin (live) view.
 */
const SAMPLE = resolve(projectRoot, "../shared/samples/ctfd-export-sample-teams.zip");

/** A table of the export, as CTFd wrote it (db/<table>.json). */
function exportTable<T>(table: string): T[] {
  const json = execFileSync("unzip", ["-p", SAMPLE, `db/${table}.json`], { encoding: "utf8" });
  return (JSON.parse(json) as { results: T[] }).results;
}

describe("read models on CTFd's own export (shared sample, team mode)", function () {
  this.timeout(120_000);
  let t: TestCtf;
  before(async () => {
    t = await startScoreboard();
    const response = await fetch(`${t.url}/api/v1/import/ctfd`, { method: "POST", headers: { "content-type": "application/zip", authorization: `Token ${TEST_ADMIN_TOKEN}` }, body: readFileSync(SAMPLE) });
    expect(response.status, await response.clone().text()).to.equal(200);
  });
  after(async () => t?.stop());

  it("counts each challenge's solves as CTFd does: visible teams and users, before the freeze for the public", async () => {
    const teams = new Map(exportTable<{ id: number; hidden: boolean; banned: boolean }>("teams").map((team) => [team.id, team]));
    const users = new Map(exportTable<{ id: number; hidden: boolean; banned: boolean }>("users").map((user) => [user.id, user]));
    const submissions = new Map(exportTable<{ id: number; date: string }>("submissions").map((s) => [s.id, s]));
    const freezeAt = Number(exportTable<{ key: string; value: string | null }>("config").find((c) => c.key === "freeze")!.value) * 1000;
    const listed = (a: { hidden: boolean; banned: boolean } | undefined) => a !== undefined && !a.hidden && !a.banned;
    const counts = (frozen: boolean) => {
      const byChallenge = new Map<number, number>();
      for (const s of exportTable<{ id: number; challenge_id: number; user_id: number; team_id: number | null }>("solves")) {
        const at = Date.parse(`${submissions.get(s.id)!.date}Z`); // CTFd shares the id between a solve and its submission
        if (!listed(users.get(s.user_id)) || (s.team_id !== null && !listed(teams.get(s.team_id)))) continue;
        if (frozen && at >= freezeAt) continue;
        byChallenge.set(s.challenge_id, (byChallenge.get(s.challenge_id) ?? 0) + 1);
      }
      return byChallenge;
    };
    const shown = (body: { data: Array<{ id: number; solves: number }> }) => new Map(body.data.map((c) => [c.id, c.solves]));
    const expectedPublic = counts(true);
    const expectedAdmin = counts(false);
    expect(expectedPublic).to.not.deep.equal(expectedAdmin); // the sample's solve after the freeze
    const publicList = shown((await t.anonymous().get("/api/v1/challenges")).body);
    const adminList = shown((await t.admin.get("/api/v1/challenges?view=admin")).body);
    for (const id of [1, 2, 3, 4]) {
      expect(publicList.get(id), `public count of challenge ${id}`).to.equal(expectedPublic.get(id) ?? 0);
      expect(adminList.get(id), `admin count of challenge ${id}`).to.equal(expectedAdmin.get(id) ?? 0);
      const one = (await t.anonymous().get(`/api/v1/challenges/${id}`)).body.data;
      expect(one.solves, `public count on /challenges/${id}`).to.equal(expectedPublic.get(id) ?? 0);
    }
  });

  it("shows every team's score and place on its page as the scoreboard does, frozen for the public and live for admins", async () => {
    const publicBoard = (await t.anonymous().get("/api/v1/scoreboard")).body.data as Array<{ account_id: number; pos: number; score: number }>;
    const liveBoard = (await t.admin.get("/api/v1/scoreboard")).body.data as Array<{ account_id: number; pos: number; score: number }>;
    expect(publicBoard.map((r) => r.score)).to.not.deep.equal(liveBoard.map((r) => r.score)); // the freeze shows
    for (const [board, reader] of [[publicBoard, t.anonymous()], [liveBoard, t.admin]] as const) {
      for (const row of board) {
        const page = (await reader.get(`/api/v1/teams/${row.account_id}`)).body.data;
        expect({ score: page.score, place: page.place }, `team ${row.account_id}`).to.deep.equal({ score: row.score, place: `${row.pos}${["th", "st", "nd", "rd"][row.pos] ?? "th"}` });
      }
    }
    // The hidden team is on no board; its page (admins only) shows its score and no place.
    const hidden = (await t.admin.get("/api/v1/teams/4")).body.data;
    expect(hidden).to.include({ score: 100, place: null });
  });
});
