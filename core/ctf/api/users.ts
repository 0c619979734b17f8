import type { PluginRoutes } from "../../kernel/http/route-table.js";
import type { Ctf } from "../runtime.js";

// Placeholder: being written (owner noted in the team plan); replaced wholesale.
export function usersRoutes(_routes: PluginRoutes, _ctf: Ctf): void {}
