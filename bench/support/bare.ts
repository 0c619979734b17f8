import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { waitForLine } from "./processes.js";

/** One answer to replay: the path it is served at, and the bytes and headers flaghost sent for it. */
export interface CapturedAnswer {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** A bare node:http process answering each path with fixed bytes and headers: what Node itself can do. */
const BARE_SERVER = `
const http = require("node:http");
const fs = require("node:fs");
const routes = new Map(JSON.parse(fs.readFileSync(process.env.BARE_ROUTES, "utf8")).map((r) => [r.path, { headers: r.headers, body: fs.readFileSync(r.bodyFile) }]));
const server = http.createServer((req, res) => {
  const route = routes.get(req.url);
  if (!route) { res.statusCode = 404; return res.end(); }
  res.writeHead(200, route.headers);
  res.end(route.body);
});
server.keepAliveTimeout = 65000;
server.listen(0, "127.0.0.1", () => console.log("bare listening on " + server.address().port));
`;

/** Starts the bare ceiling server for `answers`; `dir` holds the bodies it reads at start. */
export async function startBare(answers: CapturedAnswer[], dir: string): Promise<{ child: ChildProcess; url: string }> {
  const spec = answers.map((answer, i) => {
    const bodyFile = resolve(dir, `body-${i}`);
    writeFileSync(bodyFile, answer.body);
    return { path: answer.path, headers: answer.headers, bodyFile };
  });
  const routesFile = resolve(dir, "routes.json");
  writeFileSync(routesFile, JSON.stringify(spec));
  const child = spawn(process.execPath, ["-e", BARE_SERVER], { env: { ...process.env, BARE_ROUTES: routesFile }, stdio: ["ignore", "pipe", "inherit"] });
  const [, port] = await waitForLine(child, /bare listening on (\d+)/, "bare server");
  return { child, url: `http://127.0.0.1:${port}` };
}

/** Headers that differ per request or per connection, which a replayed answer must not carry. */
const PER_REQUEST_HEADERS = ["date", "connection", "keep-alive", "transfer-encoding", "x-request-id", "set-cookie"];

/** The bytes and headers flaghost answers GET `base + path` with (sending `headers`, e.g. a player's token). */
export async function capture(base: string, path: string, headers: Record<string, string> = {}): Promise<CapturedAnswer> {
  const response = await fetch(base + path, { headers });
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  const kept: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    if (!PER_REQUEST_HEADERS.includes(key)) kept[key] = value;
  });
  return { path, headers: kept, body: Buffer.from(await response.arrayBuffer()) };
}
