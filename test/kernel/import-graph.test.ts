import { expect } from "chai";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { projectRoot } from "../helpers/kernel.js";

/** Every relative import of every .ts file under `dir`, as [importing file, imported file], project-relative. */
function importsUnder(dir: string): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".ts")) {
        for (const match of readFileSync(path, "utf8").matchAll(/(?:import|export)[^'"]*?from\s+["'](\.[^"']+)["']|import\s+["'](\.[^"']+)["']/g)) {
          const target = resolve(dirname(path), match[1] ?? match[2]!).replace(/\.js$/, ".ts");
          found.push([relative(projectRoot, path), relative(projectRoot, target)]);
        }
      }
    }
  };
  walk(resolve(projectRoot, dir));
  return found;
}

/** The layering of ARCHITECTURE.md: arrows point down only, and plugins meet only through service type modules. */
describe("import graph", () => {
  it("the kernel imports nothing from core/ctf or plugins/", () => {
    const upward = importsUnder("core/kernel").filter(([, to]) => to.startsWith("core/ctf/") || to.startsWith("plugins/"));
    expect(upward).to.deep.equal([]);
  });

  it("core/ctf imports nothing from plugins/", () => {
    expect(importsUnder("core/ctf").filter(([, to]) => to.startsWith("plugins/"))).to.deep.equal([]);
  });

  it("a plugin imports another plugin (core/ctf included) only through its service type module", () => {
    const plugins = readdirSync(resolve(projectRoot, "plugins")).filter((name) => statSync(resolve(projectRoot, "plugins", name)).isDirectory());
    expect(plugins.length).to.be.greaterThan(0);
    for (const plugin of plugins) {
      const foreign = importsUnder(`plugins/${plugin}`).filter(([, to]) => {
        if (to.startsWith("core/kernel/") || to.startsWith(`plugins/${plugin}/`)) return false;
        return to !== "core/ctf/service.ts" && !/^plugins\/[^/]+\/service\.ts$/.test(to);
      });
      expect(foreign, `plugin ${plugin}`).to.deep.equal([]);
    }
  });
});
