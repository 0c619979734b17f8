import { basename } from "node:path";
import yauzl, { type Entry, type ZipFile } from "yauzl";
import { ctfdTables, REQUIRED_TABLES, UNSUPPORTED_TABLES, type CtfdRow, type CtfdTable } from "./ctfd-tables.js";
import { invalidExport, isImportError } from "./errors.js";

/** The most uncompressed db/ data accepted from one export. */
export const MAX_EXPORT_BYTES = 512 * 1024 * 1024;

/** A CTFd export, read and checked: every table flaghost uses, plus what it leaves behind. */
export interface CtfdExport {
  tables: { [T in CtfdTable]: Array<CtfdRow<T>> };
  /** Rows of tables flaghost has no place for (pages, files, tags...), by table. */
  unsupported: Record<string, number>;
  /** Entries outside db/ (uploaded challenge files). */
  otherFiles: number;
}

/**
 * Reads a CTFd export zip (a path or the bytes) and validates it. Every problem becomes an ImportError naming
 * the file and what is wrong; nothing here throws anything else.
 */
export async function readCtfdExport(source: string | Buffer, label = typeof source === "string" ? basename(source) : "the upload"): Promise<CtfdExport> {
  const { files, otherFiles } = await readDbFiles(source, label);
  const missing = REQUIRED_TABLES.filter((table) => !files.has(table));
  if (missing.length > 0) {
    const found = files.size === 0 ? "it has no db/ folder" : `it has ${[...files.keys()].map((t) => `db/${t}.json`).join(", ")}`;
    throw invalidExport(`${label} is not a CTFd export: ${missing.map((t) => `db/${t}.json`).join(", ")} ${missing.length === 1 ? "is" : "are"} missing (${found})`);
  }
  const tables = {} as CtfdExport["tables"];
  for (const table of Object.keys(ctfdTables) as CtfdTable[]) {
    const raw = files.get(table);
    (tables as Record<string, unknown[]>)[table] = raw ? parseTable(table, raw) : [];
  }
  const unsupported: Record<string, number> = {};
  for (const table of UNSUPPORTED_TABLES) {
    const raw = files.get(table);
    if (!raw) continue;
    const count = rowsOf(table, raw).length;
    if (count > 0) unsupported[table] = count;
  }
  return { tables, unsupported, otherFiles };
}

/** The bytes of every db/<table>.json, by table name, checking entry names and the size bound on the way. */
async function readDbFiles(source: string | Buffer, label: string): Promise<{ files: Map<string, Buffer>; otherFiles: number }> {
  let zip: ZipFile;
  try {
    const options = { lazyEntries: true, autoClose: false };
    zip = typeof source === "string" ? await yauzl.openPromise(source, options) : await yauzl.fromBufferPromise(source, options);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : `not a readable zip file (${(error as Error).message})`;
    throw invalidExport(`${label}: ${reason}`);
  }
  const files = new Map<string, Buffer>();
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
      total += entry.uncompressedSize;
      if (total > MAX_EXPORT_BYTES) throw invalidExport(`${label}: the db/ files are larger than ${MAX_EXPORT_BYTES / 1024 / 1024} MiB uncompressed; refused`);
      files.set(match[2]!, await readEntry(zip, entry));
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
  return { files, otherFiles };
}

function isUnsafe(name: string): boolean {
  const normalized = name.replace(/\\/g, "/");
  return normalized.startsWith("/") || /^[A-Za-z]:/.test(normalized) || normalized.split("/").includes("..");
}

async function readEntry(zip: ZipFile, entry: Entry): Promise<Buffer> {
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    // yauzl checks sizes against the header too; this bounds memory even if a header lies.
    if (size > entry.uncompressedSize) throw invalidExport(`${entry.fileName}: holds more data than its zip header says`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The rows of one table file: CTFd writes `{"count", "results": [...], "meta"}`, or nothing for an empty table. */
function rowsOf(table: string, raw: Buffer): unknown[] {
  let text: string;
  try {
    text = raw.toString("utf8").replace(/^\uFEFF/, "");
  } catch {
    throw invalidExport(`db/${table}.json is too large to read as one JSON document`);
  }
  if (text.trim() === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalidExport(`db/${table}.json is not valid JSON (${(error as Error).message})`);
  }
  if (Array.isArray(parsed)) return parsed;
  const results = (parsed as { results?: unknown } | null)?.results;
  if (Array.isArray(results)) return results;
  throw invalidExport(`db/${table}.json: expected an object with a "results" list`);
}

function parseTable<T extends CtfdTable>(table: T, raw: Buffer): Array<CtfdRow<T>> {
  const schema = ctfdTables[table];
  return rowsOf(table, raw).map((row, index) => {
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
  });
}
