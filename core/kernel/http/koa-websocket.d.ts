// Minimal types for koa-websocket 7. @types/koa-websocket makes `websocket` a required member of every koa
// Context, which breaks every ordinary middleware's type, so the kernel declares only what it uses.
declare module "koa-websocket" {
  import type Koa from "koa";
  import type { ServerOptions } from "ws";
  function websockify<T extends Koa>(app: T, wsOptions?: ServerOptions): T & { ws: { use(fn: unknown): unknown; server?: { close(cb?: () => void): void } } };
  export default websockify;
}
