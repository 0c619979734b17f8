import type { NewSolve } from "../client/schemas.js";
import type { MockPlatform } from "./platform.js";

/**
 * Seed data for the mock. Ids follow ours (`<idPrefix>u<user id>`, `<idPrefix>t<team id>`), numbered from
 * `firstUserId` and `firstTeamId`, so a flaghost instance whose users have those ids finds them already on the
 * platform. Generated from a fixed seed: the same dataset is the same data every time (times relative to now).
 */
export interface SeedOptions {
  idPrefix: string;
  firstUserId: number;
  firstTeamId: number;
  nowUnix: number;
}

export interface Dataset {
  name: string;
  description: string;
  seed(platform: MockPlatform, options: SeedOptions): void;
}

const DAY = 86_400;
const CATEGORIES = ["web", "crypto", "forensics", "reverse", "binary", "osint"];
const ROLES = ["Cyber Defense Analyst", "Vulnerability Assessment Analyst", "Cyber Crime Investigator", "Exploitation Analyst"];

/** Forty ODL challenges with stable ids, titles, categories and points. */
const CHALLENGES = Array.from({ length: 40 }, (_, i) => ({
  challenge_id: 100 + i,
  challenge_title: `ODL challenge ${i + 1}`,
  challenge_category: CATEGORIES[i % CATEGORIES.length]!,
  challenge_points: 50 * (1 + (i % 6)),
}));

/** A small deterministic PRNG (mulberry32), so datasets do not change between runs. */
export function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An ODL solve of challenge `index` at `timestamp`. */
export function odlSolve(index: number, timestamp: number): NewSolve {
  const c = CHALLENGES[index % CHALLENGES.length]!;
  return { ...c, timestamp_unix: timestamp, challenge_retired: false, nist_nice_work_roles: [ROLES[index % ROLES.length]!] };
}

const userId = (o: SeedOptions, n: number) => `${o.idPrefix}u${o.firstUserId + n}`;
const teamId = (o: SeedOptions, n: number) => `${o.idPrefix}t${o.firstTeamId + n}`;

function addCompetitor(platform: MockPlatform, o: SeedOptions, n: number, coach: string | undefined): string {
  const id = userId(o, n);
  platform.createUser({ first_name: `Competitor`, last_name: `${n + 1}`, email: `competitor${n + 1}@school.test`, preferred_username: `competitor${n + 1}`, role: "user", syned_user_id: id, syned_coach_user_id: coach });
  return id;
}

/** `months` of monthly Flash CTFs ending before now, each played by about half of `players`. */
function addFlashCtfs(platform: MockPlatform, o: SeedOptions, players: string[], months: number, rand: () => number): void {
  for (let m = months; m >= 1; m--) {
    const start = o.nowUnix - m * 30 * DAY;
    const flash = platform.addFlashCtf(`Flash CTF ${new Date(start * 1000).toISOString().slice(0, 7)}`, start, start + 2 * DAY);
    let rank = 1;
    for (const player of players) {
      if (rand() < 0.5) continue;
      const solved = 1 + Math.floor(rand() * 5);
      platform.addFlashResult(flash, player, rank++, Array.from({ length: solved }, (_, i) => odlSolve(i * 7, start + 3600 * (i + 1))));
    }
  }
}

/** ODL solves spread over the last `days` days, `perPlayer` on average. */
function addOdlActivity(platform: MockPlatform, o: SeedOptions, players: string[], days: number, perPlayer: number, rand: () => number): void {
  for (const player of players) {
    const count = Math.floor(rand() * perPlayer * 2);
    for (let i = 0; i < count; i++) platform.addSolve(player, odlSolve(Math.floor(rand() * CHALLENGES.length), o.nowUnix - Math.floor(rand() * days * DAY) - 3600));
  }
}

export const DATASETS: Dataset[] = [
  {
    name: "baseline",
    description: "2 coaches, 3 teams, 12 competitors (4 per team), a few weeks of ODL solves and 3 Flash CTFs",
    seed(platform, o) {
      const rand = random(15);
      const coaches = [0, 1].map((n) => {
        const id = userId(o, n);
        platform.createUser({ first_name: "Coach", last_name: `${n + 1}`, email: `coach${n + 1}@school.test`, preferred_username: `coach${n + 1}`, role: "coach", syned_user_id: id });
        return id;
      });
      const players: string[] = [];
      for (let t = 0; t < 3; t++) {
        const coach = coaches[t === 2 ? 1 : 0]!;
        const team = platform.createTeam({ syned_coach_user_id: coach, syned_team_id: teamId(o, t), team_name: `Team ${t + 1}`, affiliation: `School ${t === 2 ? 2 : 1}`, division: "high_school" });
        for (let k = 0; k < 4; k++) {
          const player = addCompetitor(platform, o, 2 + t * 4 + k, coach);
          platform.assign(team.syned_team_id, player);
          players.push(player);
        }
      }
      addOdlActivity(platform, o, players, 21, 4, rand);
      addFlashCtfs(platform, o, players, 3, rand);
    },
  },
  {
    name: "large",
    description: "300 competitors with six months of ODL activity and six monthly Flash CTFs",
    seed(platform, o) {
      const rand = random(300);
      const players = Array.from({ length: 300 }, (_, n) => addCompetitor(platform, o, n, undefined));
      addOdlActivity(platform, o, players, 180, 12, rand);
      addFlashCtfs(platform, o, players, 6, rand);
    },
  },
];
