import type { CtfdRow } from "./ctfd-tables.js";
import { insertRows } from "./insert-rows.js";
import { flatMapInTurns } from "./yielder.js";
import { examples, plural, teamOf, type LoadContext } from "./load-context.js";

const SUBMISSION_TYPES = new Set(["correct", "incorrect", "discard", "ratelimited"]);
const STATES = new Set(["visible", "hidden", "locked"]);

export interface LoadedChallenges {
  challengeIds: Set<number>;
  /** Imported hints and their cost (to find the award that paid for an unlock). */
  hintCosts: Map<number, number>;
  /** Dynamic challenges and the value CTFd had stored for them. */
  dynamicValues: Map<number, number>;
}

/** Challenges with their flags and hints. */
export async function loadChallenges(ctx: LoadContext): Promise<LoadedChallenges> {
  const { tx, data } = ctx;
  const ids = new Set(data.tables.challenges.map((c) => c.id));
  const dynamicSettings = new Map(data.tables.dynamic_challenge.map((d) => [d.id, d]));
  const unknownTypes: string[] = [];
  const incomplete: string[] = [];
  const oddStates: string[] = [];
  const dynamicValues = new Map<number, number>();

  const rows = data.tables.challenges.map((c) => {
    let type = c.type?.trim() || "standard";
    let decay: { initial: number; minimum: number; decay: number; decay_function: string } | null = null;
    if (type === "dynamic") {
      decay = dynamicOf(c, dynamicSettings.get(c.id));
      if (!decay) {
        incomplete.push(`"${c.name}"`);
        type = "standard";
      } else if (decay.decay_function !== "linear" && decay.decay_function !== "logarithmic") {
        ctx.warnings.push(`challenge "${c.name}": decay function "${decay.decay_function}" is unknown, imported as logarithmic`);
        decay.decay_function = "logarithmic";
      }
    } else if (type !== "standard") {
      unknownTypes.push(`"${c.name}" (${type})`);
      type = "standard";
    }
    let state = c.state ?? "visible";
    if (!STATES.has(state)) {
      oddStates.push(`"${c.name}" (${state})`);
      state = "hidden";
    }
    const value = c.value ?? decay?.initial ?? 0;
    if (decay) dynamicValues.set(c.id, value);
    return {
      id: c.id,
      name: c.name,
      category: c.category ?? "",
      description: c.description ?? "",
      connection_info: c.connection_info,
      attribution: c.attribution,
      next_id: c.next_id !== null && ids.has(c.next_id) ? c.next_id : null,
      state,
      max_attempts: Math.max(0, c.max_attempts ?? 0),
      position: c.position ?? 0,
      type,
      value,
      initial: decay?.initial ?? null,
      minimum: decay?.minimum ?? null,
      decay: decay?.decay ?? null,
      decay_function: decay?.decay_function ?? null,
      requirements: challengeRequirements(c.requirements, ids),
    };
  });
  if (unknownTypes.length > 0) {
    ctx.warnings.push(`${plural(unknownTypes.length, "challenge")} had a type flaghost does not know and ${unknownTypes.length === 1 ? "was" : "were"} imported as standard: ${unknownTypes.join(", ")}`);
  }
  if (incomplete.length > 0) ctx.warnings.push(`${plural(incomplete.length, "dynamic challenge")} had no decay settings and ${incomplete.length === 1 ? "was" : "were"} imported as standard: ${examples(incomplete)}`);
  if (oddStates.length > 0) ctx.warnings.push(`${plural(oddStates.length, "challenge")} had an unknown state and ${oddStates.length === 1 ? "is" : "are"} hidden: ${examples(oddStates)}`);
  await insertRows(
    tx,
    "ctf_challenges",
    {
      id: "int",
      name: "text",
      category: "text",
      description: "text",
      connection_info: "text",
      attribution: "text",
      next_id: "int",
      state: "text",
      max_attempts: "int",
      position: "int",
      type: "text",
      value: "int",
      initial: "int",
      minimum: "int",
      decay: "int",
      decay_function: "text",
      requirements: "jsonb",
    },
    rows,
  );
  ctx.counts.challenges = rows.length;

  const skippedFlags: string[] = [];
  const flags = data.tables.flags.flatMap((f) => {
    const type = f.type?.trim() || "static";
    if (!ids.has(f.challenge_id)) return [];
    if (type !== "static" && type !== "regex" && !ctx.flagTypes.has(type)) {
      skippedFlags.push(`flag ${f.id} of challenge ${f.challenge_id} (${type})`);
      return [];
    }
    return [{ id: f.id, challenge_id: f.challenge_id, type, content: f.content, data: f.data?.trim() ? f.data : null }];
  });
  if (skippedFlags.length > 0) ctx.warnings.push(`${plural(skippedFlags.length, "flag")} of a type flaghost cannot check ${skippedFlags.length === 1 ? "was" : "were"} not imported: ${examples(skippedFlags)}`);
  await insertRows(tx, "ctf_flags", { id: "int", challenge_id: "int", type: "text", content: "text", data: "text" }, flags);
  ctx.counts.flags = flags.length;

  const hintIds = new Set(data.tables.hints.filter((h) => ids.has(h.challenge_id)).map((h) => h.id));
  const hints = data.tables.hints
    .filter((h) => hintIds.has(h.id))
    .map((h) => ({
      id: h.id,
      challenge_id: h.challenge_id,
      title: h.title ?? "",
      content: h.content ?? "",
      cost: Math.max(0, h.cost ?? 0),
      prerequisites: prerequisitesOf(h.requirements).filter((id) => hintIds.has(id)),
    }));
  await insertRows(tx, "ctf_hints", { id: "int", challenge_id: "int", title: "text", content: "text", cost: "int", prerequisites: "int[]" }, hints);
  ctx.counts.hints = hints.length;
  skipped(ctx, "flags", data.tables.flags.length - flags.length - skippedFlags.length, "their challenge is missing from the export");
  skipped(ctx, "hints", data.tables.hints.length - hints.length, "their challenge is missing from the export");
  return { challengeIds: ids, hintCosts: new Map(hints.map((h) => [h.id, h.cost])), dynamicValues };
}

function dynamicOf(c: CtfdRow<"challenges">, d: CtfdRow<"dynamic_challenge"> | undefined) {
  const initial = d?.dynamic_initial ?? d?.initial ?? c.initial;
  const minimum = d?.dynamic_minimum ?? d?.minimum ?? c.minimum;
  const decay = d?.dynamic_decay ?? d?.decay ?? c.decay;
  if (initial === null || minimum === null || decay === null) return null;
  const fn = d?.dynamic_function ?? d?.function ?? (c.function && c.function !== "static" ? c.function : null) ?? "logarithmic";
  return { initial, minimum, decay: Math.max(0, decay), decay_function: fn };
}

function prerequisitesOf(requirements: Record<string, unknown> | null): number[] {
  const list = requirements?.prerequisites;
  return Array.isArray(list) ? list.map(Number).filter((n) => Number.isInteger(n) && n > 0) : [];
}

function challengeRequirements(requirements: Record<string, unknown> | null, ids: Set<number>): Record<string, unknown> | null {
  if (!requirements) return null;
  const prerequisites = prerequisitesOf(requirements).filter((id) => ids.has(id));
  const anonymize = requirements.anonymize === true;
  if (prerequisites.length === 0 && !anonymize) return null;
  return { prerequisites, anonymize };
}

function skipped(ctx: LoadContext, table: string, count: number, why: string): void {
  if (count > 0) ctx.warnings.push(`${table}: ${plural(count, "row")} not imported: ${why}`);
}

/** Awards and hint unlocks (linked to the award that paid for them), submissions, solves and notifications. */
export async function loadActivity(ctx: LoadContext, { challengeIds, hintCosts }: LoadedChallenges): Promise<void> {
  const { tx, data } = ctx;
  const user = (id: number | null) => (id === null ? null : (ctx.userIds.get(id) ?? null));

  const awards = await flatMapInTurns(data.tables.awards, (a) => {
    const userId = user(a.user_id);
    const teamId = teamOf(ctx, userId, a.team_id);
    if (userId === null && teamId === null) return [];
    return [
      {
        id: a.id,
        user_id: userId,
        team_id: teamId,
        name: a.name ?? "",
        description: a.description,
        value: a.value ?? 0,
        category: a.category,
        icon: a.icon,
        hint_id: null as number | null,
        created_at: a.date,
      },
    ];
  });

  // CTFd does not link an unlock to the award that paid for it; find it by owner, name ("Hint <id>"), cost and time.
  const ownerKey = (userId: number | null, teamId: number | null) => (teamId !== null ? `t${teamId}` : `u${userId}`);
  const hintAwardsByOwner = new Map<string, typeof awards>();
  for (const a of awards) {
    if (a.category?.toLowerCase() !== "hints") continue;
    const key = ownerKey(a.user_id, a.team_id);
    const list = hintAwardsByOwner.get(key) ?? [];
    list.push(a);
    hintAwardsByOwner.set(key, list);
  }
  const otherUnlocks: Record<string, number> = {};
  const seen = new Set<string>();
  let duplicates = 0;
  const unlocks = await flatMapInTurns(data.tables.unlocks, (u) => {
    const type = u.type ?? "hints";
    if (type !== "hints") {
      otherUnlocks[type] = (otherUnlocks[type] ?? 0) + 1;
      return [];
    }
    const userId = user(u.user_id);
    if (userId === null || !hintCosts.has(u.target)) return [];
    const teamId = teamOf(ctx, userId, u.team_id);
    const key = `${ownerKey(userId, teamId)}:${u.target}`;
    if (seen.has(key)) {
      duplicates++;
      return [];
    }
    seen.add(key);
    const cost = hintCosts.get(u.target)!;
    const owned = (hintAwardsByOwner.get(ownerKey(userId, teamId)) ?? []).filter((a) => a.hint_id === null);
    const award =
      owned.find((a) => a.name === `Hint ${u.target}` && a.created_at === u.date) ??
      owned.find((a) => a.name === `Hint ${u.target}`) ??
      owned.find((a) => a.value === -cost && a.created_at === u.date);
    if (award) award.hint_id = u.target;
    return [{ id: u.id, user_id: userId, team_id: teamId, hint_id: u.target, award_id: award?.id ?? null, created_at: u.date }];
  });

  await insertRows(
    tx,
    "ctf_awards",
    { id: "int", user_id: "int", team_id: "int", name: "text", description: "text", value: "int", category: "text", icon: "text", hint_id: "int", created_at: "timestamptz" },
    awards,
    { created_at: `coalesce(r."created_at", now())` },
  );
  ctx.counts.awards = awards.length;
  skipped(ctx, "awards", data.tables.awards.length - awards.length, "their account is missing from the export");

  await insertRows(tx, "ctf_unlocks", { id: "int", user_id: "int", team_id: "int", hint_id: "int", award_id: "int", created_at: "timestamptz" }, unlocks, {
    created_at: `coalesce(r."created_at", now())`,
  });
  ctx.counts.unlocks = unlocks.length;
  for (const [type, count] of Object.entries(otherUnlocks)) ctx.warnings.push(`unlocks: ${plural(count, "unlock")} of type "${type}" not imported (flaghost unlocks hints only)`);
  if (duplicates > 0) ctx.warnings.push(`unlocks: ${plural(duplicates, "duplicate unlock")} of the same hint by the same account not imported`);
  const orphanUnlocks = data.tables.unlocks.length - unlocks.length - duplicates - Object.values(otherUnlocks).reduce((a, b) => a + b, 0);
  skipped(ctx, "unlocks", orphanUnlocks, "their account or hint is missing from the export");

  await loadAttempts(ctx, challengeIds);

  const notifications = data.tables.notifications.flatMap((n) => {
    const userId = user(n.user_id);
    if (n.user_id !== null && userId === null) return [];
    const teamId = n.team_id !== null && ctx.teamIds.has(n.team_id) ? n.team_id : null;
    if (n.team_id !== null && teamId === null) return [];
    return [{ id: n.id, title: n.title ?? "", content: n.content ?? "", user_id: userId, team_id: teamId, created_at: n.date }];
  });
  await insertRows(tx, "ctf_notifications", { id: "int", title: "text", content: "text", user_id: "int", team_id: "int", created_at: "timestamptz" }, notifications, {
    created_at: `coalesce(r."created_at", now())`,
  });
  ctx.counts.notifications = notifications.length;
}

/** Every submission CTFd recorded, and the solves, which point at their submission (same id in CTFd). */
async function loadAttempts(ctx: LoadContext, challengeIds: Set<number>): Promise<void> {
  const { tx, data } = ctx;
  const oddTypes: Record<string, number> = {};
  const dates = new Map<number, string>();
  const submissions = await flatMapInTurns(data.tables.submissions, (s) => {
    const userId = s.user_id === null ? null : (ctx.userIds.get(s.user_id) ?? null);
    if (userId === null || !challengeIds.has(s.challenge_id)) return [];
    if (!SUBMISSION_TYPES.has(s.type)) {
      oddTypes[s.type] = (oddTypes[s.type] ?? 0) + 1;
      return [];
    }
    dates.set(s.id, s.date);
    return [{ id: s.id, challenge_id: s.challenge_id, user_id: userId, team_id: teamOf(ctx, userId, s.team_id), provided: s.provided ?? "", type: s.type, ip: s.ip, created_at: s.date }];
  });
  await insertRows(
    tx,
    "ctf_submissions",
    { id: "bigint", challenge_id: "int", user_id: "int", team_id: "int", provided: "text", type: "text", ip: "text", created_at: "timestamptz" },
    submissions,
  );
  ctx.counts.submissions = submissions.length;
  for (const [type, count] of Object.entries(oddTypes)) ctx.warnings.push(`submissions: ${plural(count, "submission")} of type "${type}" not imported`);
  const oddCount = Object.values(oddTypes).reduce((a, b) => a + b, 0);
  skipped(ctx, "submissions", data.tables.submissions.length - submissions.length - oddCount, "their account or challenge is missing from the export");

  const seen = new Set<string>();
  let duplicates = 0;
  let teamless = 0;
  const solves = await flatMapInTurns(data.tables.solves, (s) => {
    const userId = s.user_id === null ? null : (ctx.userIds.get(s.user_id) ?? null);
    const date = dates.get(s.id);
    if (userId === null || date === undefined || !challengeIds.has(s.challenge_id)) return [];
    const teamId = teamOf(ctx, userId, s.team_id);
    if (ctx.mode === "teams" && teamId === null) {
      teamless++;
      return [];
    }
    const key = teamId === null ? `u${userId}:${s.challenge_id}` : `t${teamId}:${s.challenge_id}`;
    if (seen.has(key)) {
      duplicates++;
      return [];
    }
    seen.add(key);
    return [{ id: s.id, submission_id: s.id, challenge_id: s.challenge_id, user_id: userId, team_id: teamId, created_at: date }];
  });
  await insertRows(tx, "ctf_solves", { id: "bigint", submission_id: "bigint", challenge_id: "int", user_id: "int", team_id: "int", created_at: "timestamptz" }, solves);
  ctx.counts.solves = solves.length;
  if (duplicates > 0) ctx.warnings.push(`solves: ${plural(duplicates, "second solve")} of a challenge by the same account not imported`);
  if (teamless > 0) ctx.warnings.push(`solves: ${plural(teamless, "solve")} by users without a team not imported (the event is in team mode)`);
  skipped(ctx, "solves", data.tables.solves.length - solves.length - duplicates - teamless, "their submission, account or challenge is missing from the export");
}
