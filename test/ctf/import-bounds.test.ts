import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { expect } from "chai";
import { backends } from "../helpers/backends.js";
import { cliOnOwnDatabase } from "../helpers/cli.js";
import { startCtf, type TestCtf } from "../helpers/ctf.js";
import { deflatedZip, type DeflatedEntry } from "../helpers/zip.js";

/** Issue 11, hole 12: a small zip must not freeze the instance. */

const TABLES = ["config", "users", "teams", "challenges", "dynamic_challenge", "flags", "hints", "unlocks", "awards", "submissions", "solves"];

/** A CTFd export (DEFLATEd, as CTFd writes it) with every required table; `tables` replaces some of them. */
function ctfdExport(tables: Record<string, unknown[] | DeflatedEntry> = {}): Promise<Buffer> {
  const entries: Record<string, DeflatedEntry> = {};
  for (const table of TABLES) entries[`db/${table}.json`] = "";
  for (const [table, rows] of Object.entries(tables)) {
    entries[`db/${table}.json`] = Array.isArray(rows) ? JSON.stringify({ count: rows.length, results: rows, meta: {} }) : rows;
  }
  return deflatedZip(entries);
}

/** The bomb of the issue: 490 KB that inflate to 480 MB of `{},` in db/users.json. */
const bomb = () => ctfdExport({ users: { prefix: '{"count": 0, "results": [', repeat: "{},".repeat(1 << 18), times: 640, suffix: "{}]}" } });

const user = (id: number) => ({ id, name: `player${id}`, email: `player${id}@ctfd.test`, type: "user", hidden: false, banned: false, verified: true, team_id: null, created: "2025-03-01T04:00:00" });

/** A legal event of a realistic size: a few thousand players, one hundred thousand submissions. */
function largeExport(players: number, submissions: number): Promise<Buffer> {
  const challenges = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `challenge ${i + 1}`, description: "d", value: 100, category: "misc", type: "standard", state: "visible" }));
  const rows = Array.from({ length: submissions }, (_, i) => ({
    id: i + 1,
    challenge_id: (i % 20) + 1,
    user_id: (i % players) + 1,
    team_id: null,
    ip: "10.0.0.1",
    provided: `flag{wrong guess number ${i}}`,
    type: i < players ? "correct" : "incorrect",
    date: `2025-03-01T${String(5 + Math.floor(i / 36_000)).padStart(2, "0")}:${String(Math.floor(i / 600) % 60).padStart(2, "0")}:${String(Math.floor(i / 10) % 60).padStart(2, "0")}.${String(i % 1_000_000).padStart(6, "0")}`,
  }));
  return ctfdExport({
    config: [{ id: 1, key: "ctf_name", value: "Large CTF" }, { id: 2, key: "user_mode", value: "users" }],
    users: Array.from({ length: players }, (_, i) => user(i + 1)),
    challenges,
    flags: challenges.map((c) => ({ id: c.id, challenge_id: c.id, type: "static", content: `flag{${c.id}}`, data: null })),
    submissions: rows,
    solves: rows.slice(0, players).map((s) => ({ id: s.id, challenge_id: s.challenge_id, user_id: s.user_id, team_id: null })),
  });
}

const upload = (t: TestCtf, body: Buffer) =>
  fetch(`${t.url}/api/v1/import/ctfd`, { method: "POST", headers: { authorization: `Token ${t.bootstrap.apiToken}`, "content-type": "application/zip" }, body: new Uint8Array(body) }).then(async (res) => ({
    status: res.status,
    body: (await res.json()) as any,
  }));

describe("core/ctf import: bounded, and never freezing the instance", function () {
  this.timeout(300_000);

  describe("over HTTP", () => {
    let t: TestCtf;
    before(async () => {
      t = await startCtf({ config: { http: { bodyLimitBytes: 32 * 1024 * 1024 } } });
    });
    after(() => t.stop());

    it("refuses a zip bomb with 413 naming the file, before inflating it", async () => {
      const zip = await bomb();
      expect(zip.length).to.be.below(600 * 1024);
      const res = await upload(t, zip);
      expect(res.status, JSON.stringify(res.body)).to.equal(413);
      expect(res.body.errors.file[0]).to.include("db/users.json").and.include("MiB");
      expect((await t.admin.get("/api/v1/users?view=admin")).body.data.map((u: any) => u.name)).to.deep.equal(["admin"]);
    });

    it("refuses a table with more rows than the bound with 413 naming the file", async () => {
      // Rows that are each valid, 3 MB in all: only their number is past the bound.
      const row = '{"id":1,"challenge_id":1},';
      const res = await upload(t, await ctfdExport({ solves: { prefix: '{"results": [', repeat: row.repeat(1000), times: 1001, suffix: row.slice(0, -1) + "]}" } }));
      expect(res.status, JSON.stringify(res.body)).to.equal(413);
      expect(res.body.errors.file[0]).to.include("db/solves.json").and.include("1000000 rows");
    });

    it("keeps the event loop answering while a large but legal export is imported", async () => {
      const zip = await largeExport(2_000, 100_000);
      // The delay of every turn of this process's event loop (the server runs in it) while the import runs.
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const res = await upload(t, zip);
      delay.disable();
      expect(res.status, JSON.stringify(res.body).slice(0, 500)).to.equal(200);
      expect(res.body.data.counts).to.include({ users: 2_000, submissions: 100_000, solves: 2_000 });
      // Before the fix the longest turn was the whole import (23 s on PGlite). The import's own work comes in
      // turns of a few milliseconds; the bound leaves room for a loaded machine's GC pauses. The embedded database
      // runs each statement on this thread, and PGlite sometimes spends several hundred ms inside one 100-row
      // insert (growing its files), so its bound is wider: still far below a frozen instance.
      const longestMs = delay.max / 1e6;
      const bound = backends.database === "postgres" ? 250 : 2_500;
      expect(longestMs, `longest event-loop delay ${longestMs.toFixed(0)} ms`).to.be.below(bound);
    });

    it("checks that the event is empty before reading the upload", async () => {
      // The event now holds the large import: even a file that is not a zip is refused for that reason.
      const res = await upload(t, Buffer.from("this is not a zip file"));
      expect(res.status, JSON.stringify(res.body)).to.equal(409);
      expect(res.body.errors.database[0]).to.include("already holds an event");
    });
  });

  describe("flaghost import ctfd (CLI)", () => {
    const cli = cliOnOwnDatabase("import-bounds");
    const { flaghost, scratch } = cli;
    after(() => cli.remove());

    it("refuses a zip bomb naming the file; into a non-empty event, refuses before reading the file", async () => {
      const bombFile = join(scratch, "bomb.zip");
      writeFileSync(bombFile, await bomb());
      const refused = flaghost(["import", "ctfd", bombFile]);
      expect(refused.code, refused.stderr).to.equal(1);
      expect(refused.stderr).to.include("db/users.json").and.include("MiB");
      const badJson = join(scratch, "bad-json.zip");
      writeFileSync(badJson, await ctfdExport({ solves: "[{" }));
      const invalid = flaghost(["import", "ctfd", badJson]);
      expect(invalid.code).to.equal(1);
      expect(invalid.stderr).to.include("db/solves.json is not valid JSON");
      expect(invalid.stderr).not.to.include("    at ");

      const small = join(scratch, "small.zip");
      writeFileSync(small, await largeExport(3, 10));
      const first = flaghost(["import", "ctfd", small]);
      expect(first.code, first.stderr).to.equal(0);
      const notAZip = join(scratch, "not-a-zip.zip");
      writeFileSync(notAZip, "this is not a zip file");
      const second = flaghost(["import", "ctfd", notAZip]);
      expect(second.code).to.equal(1);
      expect(second.stderr).to.include("already holds an event");
    });
  });
});
