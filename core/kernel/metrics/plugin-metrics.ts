import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type { Counter, Gauge, Histogram };

/** What a plugin describes; `name` gets the prefix `flaghost_<plugin>_`. */
export interface PluginMetricDefinition<L extends string = string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

/** Metric names a plugin may choose: Prometheus's own rule, lowercase. */
const NAME = /^[a-z_][a-z0-9_]*$/;

/** Who registered each metric of a registry, so plugins cannot take each other's (or the kernel's) names. */
export class MetricOwners {
  private readonly ownerOf = new Map<string, string>();

  constructor(readonly registry: Registry) {}

  /** Marks every metric registered so far as `owner`'s (the kernel's own, at construction). */
  claimRegistered(owner: string): void {
    for (const metric of this.registry.getMetricsAsArray()) if (!this.ownerOf.has(metric.name)) this.ownerOf.set(metric.name, owner);
  }

  /** The metric `name` made by `create`, or the one `owner` already has under that name and kind. */
  register<M extends Counter<string> | Gauge<string> | Histogram<string>>(owner: string, name: string, kind: new (...args: never[]) => M, create: () => M): M {
    const holder = this.ownerOf.get(name);
    if (holder !== undefined && holder !== owner) throw new Error(`plugin "${owner}": metric ${name} is already registered by "${holder}"`);
    const existing = this.registry.getSingleMetric(name);
    if (existing) {
      if (existing instanceof kind) return existing;
      throw new Error(`plugin "${owner}": metric ${name} is already registered as another kind`);
    }
    const metric = create();
    this.ownerOf.set(name, owner);
    return metric;
  }

  removeOwner(owner: string): void {
    for (const [name, holder] of this.ownerOf) {
      if (holder !== owner) continue;
      this.registry.removeSingleMetric(name);
      this.ownerOf.delete(name);
    }
  }
}

/**
 * How a plugin adds its own metrics: `metrics.counter({ name: "solves_total", help: "..." })` becomes
 * `flaghost_<plugin>_solves_total` on the kernel's registry. Asking again for the same name and kind returns
 * the same metric (a reload registers again); a name another plugin or the kernel holds is refused. The
 * kernel removes a plugin's metrics when it withdraws the plugin.
 */
export class PluginMetrics {
  /** `flaghost_<plugin id with - as _>_` */
  readonly prefix: string;

  constructor(
    private readonly pluginId: string,
    private readonly owners: MetricOwners,
  ) {
    this.prefix = `flaghost_${pluginId.replace(/-/g, "_")}_`;
  }

  counter<L extends string = string>(definition: PluginMetricDefinition<L>): Counter<L> {
    const name = this.nameOf(definition);
    return this.owners.register(this.pluginId, name, Counter, () => new Counter({ ...this.common(definition, name) })) as Counter<L>;
  }

  gauge<L extends string = string>(definition: PluginMetricDefinition<L>): Gauge<L> {
    const name = this.nameOf(definition);
    return this.owners.register(this.pluginId, name, Gauge, () => new Gauge({ ...this.common(definition, name) })) as Gauge<L>;
  }

  histogram<L extends string = string>(definition: PluginMetricDefinition<L> & { buckets?: number[] }): Histogram<L> {
    const name = this.nameOf(definition);
    return this.owners.register(this.pluginId, name, Histogram, () => new Histogram({ ...this.common(definition, name), ...(definition.buckets ? { buckets: definition.buckets } : {}) })) as Histogram<L>;
  }

  private nameOf(definition: PluginMetricDefinition): string {
    if (!NAME.test(definition.name)) throw new Error(`plugin "${this.pluginId}": metric name "${definition.name}" must be lowercase letters, digits and underscores`);
    if (!definition.help) throw new Error(`plugin "${this.pluginId}": metric ${definition.name} needs a help text`);
    return this.prefix + definition.name;
  }

  private common(definition: PluginMetricDefinition, name: string) {
    return { name, help: definition.help, labelNames: [...(definition.labelNames ?? [])], registers: [this.owners.registry] };
  }
}
