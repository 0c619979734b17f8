/**
 * The scoreboard's JSON, in CTFd's shapes (docs: ctfd-api-v1.md §2.9). Rows are kept as pre-serialized
 * "tails" (the row without its leading `{"pos":N,`), so a board is a string join, not a JSON.stringify of
 * thousands of objects, and an account that did not change is never serialized again.
 */

export interface AccountFields {
  id: number;
  name: string;
  bracketId: number | null;
}

export interface MemberFields extends AccountFields {
  score: number;
}

const text = (value: string | null) => (value === null ? "null" : JSON.stringify(value));

/** The row of a user-mode account, without `pos`. */
export function userTail(user: AccountFields, score: number, bracketName: string | null): string {
  return `"account_id":${user.id},"account_url":"/users/${user.id}","account_type":"user","oauth_id":null,"name":${text(user.name)},"score":${score},"bracket_id":${user.bracketId ?? "null"},"bracket_name":${text(bracketName)}}`;
}

/** The row of a team-mode account, without `pos`: members are its visible, non-banned users with their own points. */
export function teamTail(team: AccountFields, score: number, bracketName: string | null, members: Array<MemberFields & { bracketName: string | null }>): string {
  const list = members
    .map((m) => `{"id":${m.id},"oauth_id":null,"name":${text(m.name)},"score":${m.score},"bracket_id":${m.bracketId ?? "null"},"bracket_name":${text(m.bracketName)}}`)
    .join(",");
  return `"account_id":${team.id},"account_url":"/teams/${team.id}","account_type":"team","oauth_id":null,"name":${text(team.name)},"score":${score},"bracket_id":${team.bracketId ?? "null"},"bracket_name":${text(bracketName)},"members":[${list}]}`;
}

export const rowJson = (pos: number, tail: string) => `{"pos":${pos},${tail}`;

/** A row as an object (the stream sends objects). */
export const rowObject = (pos: number, tail: string): Record<string, unknown> => JSON.parse(rowJson(pos, tail));

/** `GET /api/v1/scoreboard`'s whole response body. */
export function boardBody(tails: readonly string[]): Buffer {
  const parts = new Array<string>(tails.length);
  for (let i = 0; i < tails.length; i++) parts[i] = rowJson(i + 1, tails[i]!);
  return Buffer.from(`{"success":true,"data":[${parts.join(",")}]}`);
}

/** CTFd's "Z" date of the scoreboard graph: second precision, no offset. */
export function zulu(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
