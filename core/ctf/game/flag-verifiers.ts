import { createHash, timingSafeEqual } from "node:crypto";
import type { FlagVerifier } from "../service.js";
import { unsafeRegexReason } from "./regex-safety.js";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** Static flags: compared in constant time (over digests, so lengths leak nothing); data "case_insensitive" folds case. */
export const staticFlag: FlagVerifier = {
  type: "static",
  validate(content, data) {
    if (data !== null && data !== "" && data !== "case_insensitive") return `data must be "case_insensitive" or empty`;
    return content.length === 0 ? "content must not be empty" : null;
  },
  verify({ flag, provided }) {
    const fold = flag.data === "case_insensitive" ? (s: string) => s.toLowerCase() : (s: string) => s;
    return timingSafeEqual(digest(fold(flag.content.trim())), digest(fold(provided.trim())));
  },
};

/** A regex sees at most this many characters of a submission; a longer one does not match. */
export const REGEX_MAX_INPUT = 256;

/**
 * Regex flags: the whole submission must match (anchored both ends); data "case_insensitive" adds the i flag.
 * Patterns that can backtrack without bound are refused (see regex-safety.ts), and each pattern is compiled once:
 * the verifier keeps its compiled regexes, keyed by pattern and flags, so a flag change compiles the new one.
 */
export function regexFlag(): FlagVerifier {
  const compiled = new Map<string, RegExp | null>();
  const MAX_COMPILED = 10_000;
  const compile = (content: string, data: string | null): RegExp | null => {
    const key = `${data === "case_insensitive" ? "i" : ""}:${content}`;
    let regex = compiled.get(key);
    if (regex === undefined) {
      // Imported flags were never checked at creation: an unsafe one never runs (and so never matches).
      regex = unsafeRegexReason(content) === null ? new RegExp(`^(?:${content})$`, data === "case_insensitive" ? "i" : "") : null;
      if (compiled.size >= MAX_COMPILED) compiled.clear();
      compiled.set(key, regex);
    }
    return regex;
  };
  return {
    type: "regex",
    validate(content, data) {
      if (data !== null && data !== "" && data !== "case_insensitive") return `data must be "case_insensitive" or empty`;
      try {
        new RegExp(`^(?:${content})$`);
      } catch (error) {
        return `is not a valid regular expression: ${(error as Error).message}`;
      }
      return unsafeRegexReason(content);
    },
    verify({ flag, provided }) {
      const input = provided.trim();
      if (input.length > REGEX_MAX_INPUT) return false;
      return compile(flag.content, flag.data)?.test(input) ?? false;
    },
  };
}
