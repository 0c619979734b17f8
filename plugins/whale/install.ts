import { LABEL } from "./container-spec.js";
import type { EngineDriver } from "./engine/index.js";

/**
 * The engine as one install sees it. Every container (or service) it starts carries `flaghost.whale.install` = this
 * install's id, and every listing is filtered by it, so an engine shared with another flaghost install (or another
 * test schema) is never cleaned up, reconciled or searched across: ids of accounts and challenges repeat between
 * installs, start ids do not, and neither matters once every listing is scoped.
 * `installId` is read at each call: it is known from init on (it lives in the database, see StartStore.installId).
 */
export function scopedToInstall(engine: EngineDriver, installId: () => string): EngineDriver {
  return {
    kind: engine.kind,
    ping: () => engine.ping(),
    start: (spec) => engine.start({ ...spec, labels: { ...spec.labels, [LABEL.install]: installId() } }),
    inspect: (id) => engine.inspect(id),
    remove: (id) => engine.remove(id),
    list: (labels) => engine.list({ ...labels, [LABEL.install]: installId() }),
    close: () => engine.close(),
  };
}
