import { createHash, timingSafeEqual } from "node:crypto";
import type { FlagVerifier } from "../service.js";

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

/** Regex flags: the whole submission must match (anchored both ends); data "case_insensitive" adds the i flag. */
export const regexFlag: FlagVerifier = {
  type: "regex",
  validate(content, data) {
    if (data !== null && data !== "" && data !== "case_insensitive") return `data must be "case_insensitive" or empty`;
    try {
      new RegExp(content);
      return null;
    } catch (error) {
      return `is not a valid regular expression: ${(error as Error).message}`;
    }
  },
  verify({ flag, provided }) {
    return new RegExp(`^(?:${flag.content})$`, flag.data === "case_insensitive" ? "i" : "").test(provided.trim());
  },
};
