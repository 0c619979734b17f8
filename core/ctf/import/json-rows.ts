import { invalidExport } from "./errors.js";

/**
 * Cuts a CTFd table file (`{"count": n, "results": [{...}, ...], "meta": {}}`, or a bare `[...]`) into the text of
 * its rows as the bytes arrive, so no file is ever held or parsed whole: each row is handed to `onRow` as its own
 * small JSON text (parsed with JSON.parse by the caller, so JSON's rules stay exactly JSON.parse's). Members other
 * than "results" are skimmed. Work per `push` is linear in the chunk, so a caller yielding between chunks never
 * blocks the event loop for long.
 */
export class JsonRowScanner {
  private state: "start" | "key" | "colon" | "value" | "after-value" | "rows" | "after-row" | "row" | "skim" | "done" = "start";
  private container: "object" | "array" | null = null;
  private key = "";
  private keyParts: string[] | null = null;
  private sawResults = false;
  /** Inside a string (of a row, a key or a skimmed value), and whether the previous character was a backslash. */
  private inString = false;
  private escaped = false;
  /** Nesting depth inside the row or skimmed value being read. */
  private depth = 0;
  private rowParts: string[] = [];
  private rowLength = 0;
  private rows = 0;
  private offset = 0;

  constructor(
    private readonly file: string,
    private readonly onRow: (text: string, index: number) => void,
    private readonly maxRowChars: number,
  ) {}

  /** Whether the document had rows to give: a `results` list (or a top-level list). */
  get hasRows(): boolean {
    return this.container === "array" || this.sawResults;
  }

  /** An empty (or blank) file: CTFd writes nothing for an empty table. */
  get isEmpty(): boolean {
    return this.state === "start";
  }

  push(text: string): void {
    let rowStart = this.state === "row" ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      switch (this.state) {
        case "start":
          if (isSpace(c) || c === 0xfeff) continue;
          if (c === OPEN_BRACE) {
            this.container = "object";
            this.state = "key";
          } else if (c === OPEN_BRACKET) {
            this.container = "array";
            this.state = "rows";
          } else this.fail(text, i);
          break;
        case "key":
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (c === BACKSLASH) this.escaped = true;
            else if (c === QUOTE) {
              this.inString = false;
              this.key = this.keyParts!.join("") + text.slice(this.offset, i);
              this.keyParts = null;
              this.state = "colon";
              break;
            }
            continue;
          }
          if (isSpace(c)) continue;
          if (c === QUOTE) {
            this.inString = true;
            this.keyParts = [];
            this.offset = i + 1;
          } else if (c === CLOSE_BRACE) this.state = "done";
          else this.fail(text, i);
          break;
        case "colon":
          if (isSpace(c)) continue;
          if (c !== COLON) this.fail(text, i);
          this.state = "value";
          break;
        case "value":
          if (isSpace(c)) continue;
          if (this.key === "results" && c === OPEN_BRACKET) {
            this.sawResults = true;
            this.state = "rows";
          } else {
            this.state = "skim";
            this.depth = 0;
            i--; // the skim reads this character again
          }
          break;
        case "skim":
          if (this.followString(c)) break;
          if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
          else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
            if (this.depth === 0) {
              this.state = "after-value";
              i--;
            } else this.depth--;
          } else if (this.depth === 0 && (c === COMMA || isSpace(c))) {
            this.state = "after-value";
            i--;
          }
          break;
        case "after-value":
          if (isSpace(c)) continue;
          if (c === COMMA && this.container === "object") this.state = "key";
          else if (c === CLOSE_BRACE && this.container === "object") this.state = "done";
          else this.fail(text, i);
          break;
        case "rows":
          if (isSpace(c) || (c === COMMA && this.rows > 0)) continue;
          if (c === OPEN_BRACE) {
            this.state = "row";
            this.depth = 1;
            rowStart = i;
          } else if (c === CLOSE_BRACKET) this.state = this.container === "object" ? "after-value" : "done";
          else throw invalidExport(`${this.file}, row ${this.rows + 1}: expected an object`);
          break;
        case "after-row":
          if (isSpace(c)) continue;
          if (c === COMMA) this.state = "rows";
          else if (c === CLOSE_BRACKET) this.state = this.container === "object" ? "after-value" : "done";
          else this.fail(text, i);
          break;
        case "row":
          if (this.followString(c)) break;
          if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
          else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --this.depth === 0) {
            this.finishRow(text.slice(rowStart, i + 1));
            rowStart = -1;
            this.state = "after-row";
          }
          break;
        case "done":
          if (!isSpace(c)) this.fail(text, i);
          break;
      }
    }
    if (this.state === "row") this.addRowPart(text.slice(rowStart));
    if (this.state === "key" && this.inString) this.keyParts!.push(text.slice(this.offset));
    this.offset = 0;
  }

  /** The file ended: it must have ended its document. */
  end(): void {
    if (this.state !== "done" && this.state !== "start") {
      throw invalidExport(`${this.file} is not valid JSON (Unexpected end of JSON input)`);
    }
  }

  private addRowPart(part: string): void {
    this.rowLength += part.length;
    if (this.rowLength > this.maxRowChars) {
      throw invalidExport(`${this.file}, row ${this.rows + 1}: larger than ${Math.round(this.maxRowChars / 1024)} KiB; refused`);
    }
    this.rowParts.push(part);
  }

  /** Follows string quoting and escapes; true when `c` belongs to a string (so it is no structure). */
  private followString(c: number): boolean {
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (c === BACKSLASH) this.escaped = true;
      else if (c === QUOTE) this.inString = false;
      return true;
    }
    if (c !== QUOTE) return false;
    this.inString = true;
    return true;
  }

  private finishRow(last: string): void {
    this.addRowPart(last);
    const text = this.rowParts.length === 1 ? this.rowParts[0]! : this.rowParts.join("");
    this.rowParts = [];
    this.rowLength = 0;
    this.onRow(text, this.rows++);
  }

  private fail(text: string, i: number): never {
    throw invalidExport(`${this.file} is not valid JSON (unexpected ${JSON.stringify(text[i])} after ${this.rows} rows)`);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
