/**
 * Refuses regex flag patterns whose backtracking can run away on the event loop: a repeated group that holds a
 * quantifier or an alternation (`(a+)+`, `(a|aa)*`: exponential), backreferences (`(\w+)-\1`), and more than
 * MAX_UNBOUNDED unbounded quantifiers (`.*.*.*.*x` is polynomial of that degree). Patterns are read as JavaScript
 * compiles them without the `u` flag, after they compiled: this walk only classifies.
 */
const MAX_UNBOUNDED = 3;
/** A counted quantifier above this many repeats counts as unbounded. */
const UNBOUNDED_AT = 32;

interface Group {
  /** Holds a quantifier or an alternation anywhere inside. */
  quantified: boolean;
  alternated: boolean;
}

/** The quantifier at `at`, if any: its largest repeat count and its length in characters. */
function quantifierAt(pattern: string, at: number): { max: number; length: number } | null {
  const c = pattern[at];
  let max: number;
  let length = 1;
  if (c === "*" || c === "+") max = Infinity;
  else if (c === "?") max = 1;
  else if (c === "{") {
    const counted = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(at));
    if (!counted) return null; // a literal brace
    max = counted[2] === undefined ? Number(counted[1]) : counted[3] === "" ? Infinity : Number(counted[3]);
    length = counted[0].length;
  } else return null;
  if (pattern[at + length] === "?") length++; // lazy
  return { max, length };
}

/** Why the pattern is refused, or null when it is safe to run. */
export function unsafeRegexReason(pattern: string): string | null {
  const stack: Group[] = [{ quantified: false, alternated: false }];
  /** The atom a following quantifier applies to: a closed group (with what it held) or a single character. */
  let last: Group | "char" | null = null;
  let unbounded = 0;
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i]!;
    const top = stack[stack.length - 1]!;
    if (c === "\\") {
      const next = pattern[i + 1] ?? "";
      if (/[1-9]/.test(next) || (next === "k" && pattern[i + 2] === "<")) return "must not use backreferences";
      last = "char";
      i += 2;
    } else if (c === "[") {
      let j = i + 1;
      if (pattern[j] === "^") j++;
      if (pattern[j] === "]") j++; // `[]` and `[^]`
      while (j < pattern.length && pattern[j] !== "]") j += pattern[j] === "\\" ? 2 : 1;
      last = "char";
      i = j + 1;
    } else if (c === "(") {
      stack.push({ quantified: false, alternated: false });
      last = null;
      i += pattern[i + 1] === "?" ? (/^\(\?<[^=!]/.test(pattern.slice(i)) ? pattern.indexOf(">", i) + 1 - i : pattern[i + 2] === "<" ? 4 : 3) : 1;
    } else if (c === ")") {
      const group = stack.length > 1 ? stack.pop()! : top;
      const parent = stack[stack.length - 1]!;
      parent.quantified ||= group.quantified;
      parent.alternated ||= group.alternated;
      last = group;
      i++;
    } else if (c === "|") {
      top.alternated = true;
      last = null;
      i++;
    } else {
      const quantifier = quantifierAt(pattern, i);
      if (!quantifier) {
        last = "char";
        i++;
        continue;
      }
      if (quantifier.max > 1 && last !== null && last !== "char" && (last.quantified || last.alternated)) {
        return "must not repeat a group that holds a quantifier or an alternation (nested quantifiers can backtrack for hours)";
      }
      if (quantifier.max > UNBOUNDED_AT && ++unbounded > MAX_UNBOUNDED) {
        return `must have at most ${MAX_UNBOUNDED} unbounded quantifiers (*, +, {n,} or more than ${UNBOUNDED_AT} repeats)`;
      }
      top.quantified = true;
      last = null;
      i += quantifier.length;
    }
  }
  return null;
}
