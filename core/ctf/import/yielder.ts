import { setImmediate as nextTurn } from "node:timers/promises";

/**
 * For long loops on the event loop (an import reads and checks a million rows): call `pause()` often; it gives
 * the event loop a turn once `budgetMs` of work has passed since the last one, so requests keep being answered.
 */
export function eventLoopYielder(budgetMs = 4): { pause(): Promise<void> | undefined } {
  let since = performance.now();
  return {
    pause() {
      if (performance.now() - since < budgetMs) return undefined;
      return nextTurn().then(() => {
        since = performance.now();
      });
    },
  };
}

/** Array.flatMap that gives the event loop a turn every few milliseconds: for tables of a million rows. */
export async function flatMapInTurns<T, U>(items: readonly T[], fn: (item: T) => U[]): Promise<U[]> {
  const yielder = eventLoopYielder();
  const out: U[] = [];
  for (const item of items) {
    for (const result of fn(item)) out.push(result);
    const turn = yielder.pause();
    if (turn) await turn;
  }
  return out;
}
