export { QueueHost, type QueueHostDeps } from "./host.js";
export type { PluginQueues, QueueDefinition, QueueMessageContext } from "./types.js";
