/**
 * One value read from the database and kept in memory (every challenge with its flags, every hint, the event's
 * settings), shared by the caches of core/ctf so they load, invalidate and expire the same way:
 *
 * - `invalidate()` (an event said it changed) drops it: the next reader waits for a fresh read.
 * - Older than `maxAgeMs` (a safety net should a broadcast be lost), it keeps serving while one re-read runs in the
 *   background: when every reader waited for that re-read, the instance stalled its requests each time.
 * - Generation-stamped: a read that began before an invalidation is neither kept nor handed to callers that came
 *   after it (it may predate the write that invalidated, so a writer would not find its own write).
 * - `replace(value)` swaps in a value patched from an event; a read already in flight is then not kept either.
 */
export class LoadedCache<T> {
  private loaded: { at: number; value: T } | null = null;
  private reading: { generation: number; promise: Promise<T> } | null = null;
  private generation = 0;
  private replaced = 0;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly maxAgeMs: number,
  ) {}

  invalidate(): void {
    this.generation++;
    this.loaded = null;
  }

  /** The value if loaded (an old copy starts a re-read), without waiting; null after an invalidation. */
  peek(): T | null {
    if (!this.loaded) return null;
    if (Date.now() - this.loaded.at >= this.maxAgeMs) this.refresh().catch(() => undefined); // errors reach the next get
    return this.loaded.value;
  }

  get(): Promise<T> {
    const value = this.peek();
    return value === null ? this.load() : Promise.resolve(value);
  }

  /** Whether a read is in flight: a value patched now might be overwritten by what it read before the change. */
  get readInFlight(): boolean {
    return this.reading !== null;
  }

  /** Swaps in a changed value (kept as old as the one it replaces); ignored when nothing is loaded. */
  replace(value: T): void {
    if (!this.loaded) return;
    this.loaded = { at: this.loaded.at, value };
    this.replaced++;
  }

  /** Reads again without dropping the value meanwhile; true when the read was kept. */
  async refresh(): Promise<boolean> {
    const value = await this.load();
    return this.loaded?.value === value;
  }

  /** One read at a time per generation; concurrent callers share it. */
  private load(): Promise<T> {
    if (this.reading?.generation === this.generation) return this.reading.promise;
    const [generation, replaced] = [this.generation, this.replaced];
    const promise = this.read().then((value) => {
      if (generation === this.generation && replaced === this.replaced) this.loaded = { at: Date.now(), value };
      return value;
    });
    const reading = { generation, promise };
    this.reading = reading;
    const done = () => {
      if (this.reading === reading) this.reading = null;
    };
    promise.then(done, done);
    return promise;
  }
}
