import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect } from "chai";
import { parse } from "yaml";
import { NGINX_TEMPLATE, POOL_SIZE_BY_ROLE, renderNginxTemplate } from "../../core/cluster/launcher.js";
import { KERNEL_ENV_NAMES, loadConfig } from "../../core/kernel/config.js";
import { KERNEL_PATHS } from "../../core/kernel/http/kernel-routes.js";
import { whaleConfig } from "../../plugins/whale/config.js";
import { projectRoot } from "../helpers/kernel.js";

/**
 * deploy/compose.yaml and deploy/stack.yaml cannot run here (no registry to pull images from, no compose plugin),
 * so they are checked against the code they describe: the roles, the environment the config reads, the
 * health-check paths, the nginx template and its placeholders, the Dockerfile, and the Postgres connection budget.
 */
const deployDir = resolve(projectRoot, "deploy");
const read = (file: string) => readFileSync(resolve(deployDir, file), "utf8");
const compose = parse(read("compose.yaml"), { merge: true });
const stack = parse(read("stack.yaml"), { merge: true });
const roles = ["web", "worker", "scheduler"] as const;

/** Values a host would put in .env: compose's `${NAME:?message}` must be set, `${NAME:-default}` may be. */
const hostEnv: Record<string, string> = {
  POSTGRES_PASSWORD: "postgres-password",
  FLAGHOST_ADMIN_TOKEN: "admin-token-0123456789abcdef",
  FLAGHOST_SECRET: "0123456789abcdef0123456789abcdef0123456789",
  PUBLIC_HOST: "challenges.example.org",
  FLAGHOST_IMAGE: "registry.example.org/flaghost:1.0.0",
  WHALE_DOCKER_HOST: "tcp://10.0.0.3:2375",
};

/** compose's variable interpolation, as far as these files use it. */
function interpolate(value: unknown): string {
  return String(value).replace(/\$\{([A-Z_]+)(?::([?-])([^}]*))?\}/g, (_whole, name: string, kind?: string, rest?: string) => {
    if (name in hostEnv) return hostEnv[name]!;
    if (kind === "-") return rest!;
    throw new Error(`${name} is required but has no test value (${rest})`);
  });
}

function environment(service: any): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(v)]));
}

/** Connections a file's flaghost services may open: replicas × 2 pools × poolSize. */
function connections(file: any): number {
  return roles.reduce((sum, role) => {
    const service = file.services[role];
    return sum + Number(interpolate(service.deploy.replicas)) * 2 * Number(environment(service).FLAGHOST__database__poolSize);
  }, 0);
}

for (const [name, file] of [["compose.yaml", compose], ["stack.yaml", stack]] as const) {
  describe(`deploy/${name}`, () => {
    it("has Postgres, Redis, web, worker, scheduler and nginx services", () => {
      expect(Object.keys(file.services).sort()).to.deep.equal(["nginx", "postgres", "redis", "scheduler", "web", "worker"]);
    });

    for (const role of roles) {
      it(`runs the ${role} role with an environment the configuration reads and accepts`, () => {
        const env = environment(file.services[role]);
        expect(env.FLAGHOST_ROLE).to.equal(role);
        const unread = Object.keys(env).filter((k) => !KERNEL_ENV_NAMES.includes(k) && !k.startsWith("FLAGHOST__") && k !== "DOCKER_HOST");
        expect(unread, "variables nothing reads").to.deep.equal([]);
        // The whole configuration as the process would load it (a misspelt FLAGHOST__ key is refused here).
        const config = loadConfig({ root: projectRoot, env });
        expect(config.role).to.equal(role);
        expect(config.databaseUrl).to.match(/^postgres:\/\/flaghost:[^@]+@postgres:5432\/flaghost$/);
        expect(config.redisUrl).to.equal("redis://redis:6379");
        expect(config.port).to.equal(8000);
        expect(config.database.poolSize).to.equal(POOL_SIZE_BY_ROLE[role], "the same pool size as npm run cluster");
        expect(config.http.trustProxy).to.equal(role === "web", "only web processes sit behind nginx");
        whaleConfig.parse(config.plugins.whale ?? {});
      });

      it(`checks ${role} readiness on /readyz at the port it listens on`, () => {
        const test: string[] = file.services[role].healthcheck.test;
        expect(KERNEL_PATHS).to.include("/readyz");
        expect(test.join(" ")).to.include(`http://127.0.0.1:${environment(file.services[role]).PORT}/readyz`);
      });
    }

    it("fits the flaghost processes in Postgres's default 100 connections with room for migrations and admin tools", () => {
      // 100, less 3 reserved for superusers, less 20 for migrations, backups, psql and a second deploy's overlap.
      expect(connections(file)).to.be.at.most(100 - 3 - 20);
    });

    it("fills every placeholder of deploy/nginx/flaghost.conf and proxies to the web service", () => {
      const nginx = file.services.nginx;
      const env = environment(nginx);
      const placeholders = [...readFileSync(NGINX_TEMPLATE, "utf8").matchAll(/\$\{(FLAGHOST_[A-Z_]+)\}/g)].map((m) => m[1]!);
      expect([...new Set(placeholders)].sort()).to.deep.equal(Object.keys(env).filter((k) => k.startsWith("FLAGHOST_")).sort());
      expect(env.NGINX_ENVSUBST_FILTER, "the image must leave nginx's own $variables alone").to.equal("^FLAGHOST_");
      const rendered = renderNginxTemplate(readFileSync(NGINX_TEMPLATE, "utf8"), env);
      expect(rendered).to.match(/server (tasks\.)?web:8000 /);
      expect(rendered).to.include(`listen ${env.FLAGHOST_LISTEN};`);
      const published = name === "compose.yaml" ? nginx.ports[0].split(":").at(-1) : String(nginx.ports[0].target);
      expect(published).to.equal(env.FLAGHOST_LISTEN);
    });
  });
}

describe("deploy/compose.yaml specifics", () => {
  it("starts 3 web, 2 worker and 1 scheduler by default", () => {
    expect(roles.map((r) => interpolate(compose.services[r].deploy.replicas))).to.deep.equal(["3", "2", "1"]);
  });

  it("builds from deploy/Dockerfile with the repository as context, and mounts the nginx template that exists", () => {
    for (const role of roles) {
      const build = compose.services[role].build;
      expect(resolve(deployDir, build.context, build.dockerfile)).to.equal(resolve(deployDir, "Dockerfile"));
    }
    const mount: string = compose.services.nginx.volumes[0];
    expect(resolve(deployDir, mount.split(":")[0]!)).to.equal(NGINX_TEMPLATE);
    expect(mount.split(":")[1]).to.equal("/etc/nginx/templates/flaghost.conf.template");
  });

  it("starts flaghost only once Postgres and Redis are healthy, and nginx once web is", () => {
    for (const role of roles) expect(compose.services[role].depends_on).to.deep.equal({ postgres: { condition: "service_healthy" }, redis: { condition: "service_healthy" } });
    expect(compose.services.nginx.depends_on).to.deep.equal({ web: { condition: "service_healthy" } });
  });
});

describe("deploy/stack.yaml specifics", () => {
  it("runs workers only on nodes labelled for the challenge engine, and gives only them the engine's socket", () => {
    expect(stack.services.worker.deploy.placement.constraints).to.deep.equal(["node.labels.flaghost.whale == true"]);
    const withSocket = Object.entries<any>(stack.services).filter(([, s]) => JSON.stringify(s.volumes ?? []).includes("docker.sock")).map(([n]) => n);
    expect(withSocket).to.deep.equal(["worker"]);
    expect(environment(stack.services.worker).DOCKER_HOST).to.equal("unix:///var/run/docker.sock");
  });

  it("runs 3 web, 2 worker and 1 scheduler replicas, each with its own instance id", () => {
    expect(roles.map((r) => interpolate(stack.services[r].deploy.replicas))).to.deep.equal(["3", "2", "1"]);
    for (const role of roles) expect(environment(stack.services[role]).FLAGHOST_INSTANCE_ID).to.equal(`${role}-{{.Task.Slot}}`);
  });

  it("rolls flaghost out one task at a time, the new one started first", () => {
    for (const role of roles) expect(stack.services[role].deploy.update_config).to.include({ parallelism: 1, order: "start-first" });
  });

  it("ships the nginx template that exists as a config", () => {
    expect(resolve(deployDir, stack.configs["flaghost-nginx"].file)).to.equal(NGINX_TEMPLATE);
    expect(stack.services.nginx.configs[0]).to.deep.equal({ source: "flaghost-nginx", target: "/etc/nginx/templates/flaghost.conf.template" });
  });
});

describe("deploy/Dockerfile", () => {
  const dockerfile = read("Dockerfile");
  const pkg = JSON.parse(readFileSync(resolve(projectRoot, "package.json"), "utf8"));

  it("installs production dependencies only, which include tsx that runs the sources", () => {
    expect(dockerfile).to.match(/RUN npm ci --omit=dev/);
    expect(pkg.dependencies).to.have.property("tsx");
    expect(dockerfile).to.match(/CMD \["node", "--import", "tsx", "core\/cli\.ts", "start"\]/);
  });

  it("is multi-stage, runs as a non-root user, and checks liveness on /healthz", () => {
    expect(dockerfile.match(/^FROM /gm)).to.have.length.at.least(2);
    const user = /^USER (\S+)/m.exec(dockerfile)?.[1];
    expect(user).to.be.a("string").and.not.equal("root");
    expect(KERNEL_PATHS).to.include("/healthz");
    expect(/^HEALTHCHECK[\s\S]*?\/healthz/m.test(dockerfile)).to.equal(true);
  });

  it("copies only paths that exist, and every runtime folder the CLI needs", () => {
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    for (const path of copied) expect(existsSync(resolve(projectRoot, path)), path).to.equal(true);
    for (const needed of ["core", "plugins", "migrations", "config", "package.json", "tsconfig.json", "plugin.schema.json"]) expect(copied).to.include(needed);
    expect(existsSync(resolve(projectRoot, "core/cli.ts"))).to.equal(true);
  });
});
