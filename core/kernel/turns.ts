/**
 * Lets the event loop serve requests before going on. Long synchronous loops (a read model built from 200,000 solves,
 * a phase2 scan) call it between steps: one turn of a second or more holds every request of the process, and on the
 * embedded database (PGlite, in this process) a chain of awaited queries resolves in microtasks and would starve HTTP.
 */
export const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

/** How many items a long loop handles per turn of the event loop: a few milliseconds of work. */
export const ITEMS_PER_TURN = 2_000;

/**
 * Runs a step generator to its end, giving the event loop a turn at each `yield` (see yieldToRequests). The same
 * generator run with runNow does the work in one go (tests, small states).
 */
export async function runInTurns<T>(steps: Generator<unknown, T>): Promise<T> {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    await yieldToRequests();
  }
}

/** Runs a step generator to its end without giving up the turn. */
export function runNow<T>(steps: Generator<unknown, T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}
