/** The ids we send the platform: `<idPrefix>u<flaghost user id>` and `<idPrefix>t<flaghost team id>`. */
export interface PlatformIds {
  user(userId: number): string;
  team(teamId: number): string;
}

export function platformIds(idPrefix: string): PlatformIds {
  return { user: (userId) => `${idPrefix}u${userId}`, team: (teamId) => `${idPrefix}t${teamId}` };
}
