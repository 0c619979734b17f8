import type { PluginRoutes } from "../../kernel/http/route-table.js";
import type { Ctf } from "../runtime.js";
import type { PageShell } from "../service.js";

// Placeholder: being written; replaced wholesale.
export function createPageShell(_ctf: Ctf): PageShell {
  return {
    async render(ctx, page) {
      ctx.type = "html";
      ctx.body = `<!doctype html><title>${page.title}</title>${page.body.__html}`;
    },
    html: (strings) => ({ __html: strings.join("") }),
  };
}
export function pageRoutes(_routes: PluginRoutes, _ctf: Ctf, _shell: PageShell): void {}
