/**
 * Which backends this test run uses. The test command (test/run.ts) sets or clears DATABASE_URL and REDIS_URL
 * per pass; suites read them only through here.
 */
export const backends = {
  databaseUrl: process.env.DATABASE_URL || undefined,
  redisUrl: process.env.REDIS_URL || undefined,
  get database(): "postgres" | "embedded" {
    return this.databaseUrl ? "postgres" : "embedded";
  },
  get coordination(): "redis" | "memory" {
    return this.redisUrl ? "redis" : "memory";
  },
};

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
