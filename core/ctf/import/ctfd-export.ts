import { basename } from "node:path";
import { StringDecoder } from "node:string_decoder";
import yauzl, { type Entry, type ZipFile } from "yauzl";
import { ctfdTables, REQUIRED_TABLES, UNSUPPORTED_TABLES, type CtfdRow, type CtfdTable } from "./ctfd-tables.js";
import { invalidExport, isImportError, tooLarge } from "./errors.js";
import { JsonRowScanner } from "./json-rows.js";
import { eventLoopYielder } from "./yielder.js";

/**
 * What one export may hold, well below what the process can keep in memory: an export of a large event (10,000
 * players, a million submissions) fits; a zip bomb is refused from its headers before anything is inflated.
 */
export const IMPORT_BOUNDS = {
  /** Uncompressed bytes of one db/<table>.json. */
  maxFileBytes: 128 * 1024 * 1024,
  /** Uncompressed bytes of all db/ files read. */
  maxTotalBytes: 256 * 1024 * 1024,
  maxRowsPerTable: 1_000_000,
  /** One row's JSON text (a challenge's description is the largest CTFd writes). */
  maxRowBytes: 1024 * 1024,
};

/** A CTFd export, read and checked: every table flaghost uses, plus what it leaves behind. */
export interface CtfdExport {
  tables: { [T in CtfdTable]: Array<CtfdRow<T>> };
  /** Rows of tables flaghost has no place for (pages, files, tags...), by table. */
  unsupported: Record<string, number>;
  /** Entries outside db/ (uploaded challenge files). */
  otherFiles: number;
}

const MIB = 1024 * 1024;
const mib = (bytes: number) => `${Math.ceil(bytes / MIB)} MiB`;

/**
 * Reads a CTFd export zip (a path or the bytes) and validates it, row by row as each table file inflates: no file
 * is held or parsed whole, and the event loop gets a turn every few milliseconds. Every problem becomes an
 * ImportError naming the file (and the row and column); nothing here throws anything else.
 */
export async function readCtfdExport(source: string | Buffer, label = typeof source === "string" ? basename(source) : "the upload"): Promise<CtfdExport> {
  let zip: ZipFile;
  try {
    const options = { lazyEntries: true, autoClose: false };
    zip = typeof source === "string" ? await yauzl.openPromise(source, options) : await yauzl.fromBufferPromise(source, options);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : `not a readable zip file (${(error as Error).message})`;
    throw invalidExport(`${label}: ${reason}`);
  }
  const tables = Object.fromEntries(Object.keys(ctfdTables).map((table) => [table, []])) as unknown as CtfdExport["tables"];
  const unsupported: Record<string, number> = {};
  const found = new Set<string>();
  const yielder = eventLoopYielder();
  let otherFiles = 0;
  let total = 0;
  let prefix: string | null = null;
  try {
    for await (const entry of zip.eachEntry()) {
      const name = entry.fileName;
      if (isUnsafe(name)) throw invalidExport(`${label}: refused: the zip holds an unsafe entry name (${JSON.stringify(name)})`);
      if (name.endsWith("/")) continue;
      // db/ at the top, or inside one folder (an export unpacked and zipped again).
      const match = /^([^/]+\/)?db\/([A-Za-z0-9_]+)\.json$/.exec(name);
      if (!match) {
        otherFiles++;
        continue;
      }
      const folder = match[1] ?? "";
      if (prefix !== null && prefix !== folder) throw invalidExport(`${label}: db/ files appear in more than one folder ("${prefix}db/" and "${folder}db/")`);
      prefix = folder;
      const table = match[2]!;
      const file = `db/${table}.json`;
      found.add(table);
      // The header's size is checked before inflating; yauzl refuses an entry that inflates past its header.
      if (entry.uncompressedSize > IMPORT_BOUNDS.maxFileBytes) {
        throw tooLarge(`${file} inflates to ${mib(entry.uncompressedSize)}, above the bound of ${mib(IMPORT_BOUNDS.maxFileBytes)} per file; refused, nothing was imported`);
      }
      if (table in ctfdTables) {
        const rows = tables[table as CtfdTable] as unknown[];
        await readRows(zip, entry, file, yielder, (row, index) => rows.push(checkRow(table as CtfdTable, row, index)));
      } else if (UNSUPPORTED_TABLES.includes(table)) {
        let count = 0;
        await readRows(zip, entry, file, yielder, () => count++, { parse: false });
        if (count > 0) unsupported[table] = count;
      } else continue; // alembic_version and the like: never inflated
      total += entry.uncompressedSize;
      if (total > IMPORT_BOUNDS.maxTotalBytes) {
        throw tooLarge(`${label}: the db/ files inflate to more than ${mib(IMPORT_BOUNDS.maxTotalBytes)} (the bound for one export; ${file} went past it); refused, nothing was imported`);
      }
    }
  } catch (error) {
    if (isImportError(error)) throw error;
    const message = (error as Error).message ?? String(error);
    if (/absolute path|invalid relative path|invalid characters in fileName/.test(message)) {
      throw invalidExport(`${label}: refused: the zip holds an unsafe entry name (${message})`);
    }
    throw invalidExport(`${label}: not a readable zip file (${message})`);
  } finally {
    zip.close();
  }
  const missing = REQUIRED_TABLES.filter((table) => !found.has(table));
  if (missing.length > 0) {
    const present = found.size === 0 ? "it has no db/ folder" : `it has ${[...found].map((t) => `db/${t}.json`).join(", ")}`;
    throw invalidExport(`${label} is not a CTFd export: ${missing.map((t) => `db/${t}.json`).join(", ")} ${missing.length === 1 ? "is" : "are"} missing (${present})`);
  }
  return { tables, unsupported, otherFiles };
}

/**
 * Inflates one table file and hands each row to `onRow` (parsed, unless `parse` is false), within the row bounds.
 * CTFd writes `{"count", "results": [...], "meta"}`, or nothing for an empty table.
 */
async function readRows(
  zip: ZipFile,
  entry: Entry,
  file: string,
  yielder: ReturnType<typeof eventLoopYielder>,
  onRow: (row: unknown, index: number) => void,
  { parse = true } = {},
): Promise<void> {
  const scanner = new JsonRowScanner(
    file,
    (text, index) => {
      if (index >= IMPORT_BOUNDS.maxRowsPerTable) {
        throw tooLarge(`${file} holds more than ${IMPORT_BOUNDS.maxRowsPerTable} rows, the bound per table; refused, nothing was imported`);
      }
      if (!parse) return onRow(null, index);
      let row: unknown;
      try {
        row = JSON.parse(text);
      } catch (error) {
        throw invalidExport(`${file} is not valid JSON (row ${index + 1}: ${(error as Error).message})`);
      }
      onRow(row, index);
    },
    IMPORT_BOUNDS.maxRowBytes,
  );
  const stream = await zip.openReadStreamPromise(entry);
  const decoder = new StringDecoder("utf8");
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    // yauzl checks sizes against the header too; this bounds memory even if a header lies.
    if (size > entry.uncompressedSize) throw invalidExport(`${entry.fileName}: holds more data than its zip header says`);
    scanner.push(decoder.write(chunk as Buffer));
    await yielder.pause();
  }
  scanner.push(decoder.end());
  scanner.end();
  if (!scanner.isEmpty && !scanner.hasRows) throw invalidExport(`${file}: expected an object with a "results" list`);
}

function isUnsafe(name: string): boolean {
  const normalized = name.replace(/\\/g, "/");
  return normalized.startsWith("/") || /^[A-Za-z]:/.test(normalized) || normalized.split("/").includes("..");
}

/** One row checked against its table's schema; the error names the file, the row (and its id) and the column. */
function checkRow<T extends CtfdTable>(table: T, row: unknown, index: number): CtfdRow<T> {
  const schema = ctfdTables[table];
  const where = `db/${table}.json, row ${index + 1}`;
  if (typeof row !== "object" || row === null || Array.isArray(row)) throw invalidExport(`${where}: expected an object`);
  const result = schema.safeParse(row);
  if (result.success) return result.data as CtfdRow<T>;
  const issue = result.error.issues[0]!;
  const column = String(issue.path[0] ?? "");
  const rowId = (row as { id?: unknown }).id;
  const at = `${where}${typeof rowId === "number" || typeof rowId === "string" ? ` (id ${rowId})` : ""}`;
  if (column && !(column in row)) throw invalidExport(`${at}: the required column "${column}" is missing`);
  const value = JSON.stringify((row as Record<string, unknown>)[column]) ?? "undefined";
  const problem = issue.message.startsWith("must") ? issue.message : `has an unexpected value: ${value.length > 40 ? `${value.slice(0, 40)}...` : value}`;
  throw invalidExport(`${at}: column "${column}" ${problem}`);
}
