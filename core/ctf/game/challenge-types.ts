import { z } from "zod";
import type { ChallengeType } from "../service.js";

/** The built-in types. Plugins add theirs with GameService.addChallengeType (whale adds container challenges). */
export const standardType: ChallengeType = { id: "standard", name: "standard", settings: z.object({}).strict() };
export const dynamicType: ChallengeType = { id: "dynamic", name: "dynamic", settings: z.object({}).strict() };

/** CTFd's `type_data` block, which its clients read; flaghost's pages do not use templates. */
export function typeData(type: ChallengeType) {
  return { id: type.id, name: type.name, templates: {}, scripts: type.viewScript ? { view: type.viewScript } : {} };
}
