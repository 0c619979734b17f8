import type { PluginHealth } from "../../core/kernel/plugin-host/api.js";
import { EngineUnavailableError, type EngineDriver } from "./engine/index.js";

/**
 * Whether the engine answers, as whale's plugin status: `degraded` with the reason while it does not, `started`
 * again when it does. Checked every few seconds by each process, and reported at once by any engine call that found
 * it unreachable, so a start refused with 503 and /readyz tell the same story.
 */
export class EngineHealth {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly engine: EngineDriver,
    private readonly health: PluginHealth,
  ) {}

  /** The reason starts are refused now, or null while the engine answers. */
  get unavailable(): string | null {
    return this.health.degradedReason;
  }

  async check(): Promise<boolean> {
    try {
      await this.engine.ping();
      this.health.restored();
      return true;
    } catch (error) {
      this.noticed(error);
      return false;
    }
  }

  /** Reports an error from any engine call: an unreachable engine degrades whale; an engine's refusal does not. */
  noticed(error: unknown): void {
    if (error instanceof EngineUnavailableError) this.health.degraded(`Docker engine unavailable: ${error.message}`);
  }

  watch(everyMs: number): void {
    this.timer ??= setInterval(() => void this.check(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
