import { crc32, createDeflateRaw } from "node:zlib";

/** One entry as it goes into the archive: its bytes as stored, how (0 STORE, 8 DEFLATE), and the inflated CRC and size. */
interface ArchivedEntry {
  name: string;
  data: Buffer;
  method: 0 | 8;
  crc: number;
  size: number;
}

/** DOS time 00:00:00, date 2025-03-01, for every entry. */
const DOS_DATE = ((2025 - 1980) << 9) | (3 << 5) | 1;

/** Local headers, data, central directory and end record; names taken as given (UTF-8 flag set). */
function archive(entries: ArchivedEntry[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const { name, data, method, crc, size } of entries) {
    const fileName = Buffer.from(name, "utf8");
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(fileName.length, 26);
    locals.push(local, fileName, data);

    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(20, 4); // made by
    header.writeUInt16LE(20, 6); // needed
    header.writeUInt16LE(0x0800, 8);
    header.writeUInt16LE(method, 10);
    header.writeUInt16LE(DOS_DATE, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(data.length, 20);
    header.writeUInt32LE(size, 24);
    header.writeUInt16LE(fileName.length, 28);
    // extra length, comment length, disk, internal and external attributes stay 0
    header.writeUInt32LE(offset, 42);
    central.push(header, fileName);
    offset += local.length + fileName.length + data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/**
 * A minimal zip writer for tests: every entry STOREd (no compression), names taken as given (so a test can
 * write unsafe ones such as "../evil.json"). Entries: name -> content.
 */
export function zip(entries: Record<string, string | Buffer>): Buffer {
  return archive(
    Object.entries(entries).map(([name, content]) => {
      const data = typeof content === "string" ? Buffer.from(content, "utf8") : content;
      return { name, data, method: 0, crc: crc32(data), size: data.length };
    }),
  );
}

/** An entry for deflatedZip: bytes, or one chunk repeated (so a test can describe 480 MB without holding it). */
export type DeflatedEntry = string | Buffer | { prefix?: string; repeat: string | Buffer; times: number; suffix?: string };

/**
 * A zip whose entries are DEFLATEd, with the true sizes in its headers. A repeated chunk is compressed as a
 * stream, so a small zip inflating to hundreds of megabytes (a zip bomb) is made without ever holding them.
 */
export async function deflatedZip(entries: Record<string, DeflatedEntry>): Promise<Buffer> {
  const archived: ArchivedEntry[] = [];
  for (const [name, content] of Object.entries(entries)) {
    const { compressed, crc, size } = await deflate(content);
    archived.push({ name, data: compressed, method: 8, crc, size });
  }
  return archive(archived);
}

async function deflate(content: DeflatedEntry): Promise<{ compressed: Buffer; crc: number; size: number }> {
  const parts = typeof content === "string" || Buffer.isBuffer(content) ? { repeat: content, times: 1 } : content;
  const chunk = Buffer.from(parts.repeat);
  const stream = createDeflateRaw({ level: 9 });
  const output: Buffer[] = [];
  stream.on("data", (data: Buffer) => output.push(data));
  const finished = new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("error", reject);
  });
  let crc = 0;
  let size = 0;
  const write = async (data: Buffer) => {
    crc = crc32(data, crc);
    size += data.length;
    if (!stream.write(data)) await new Promise((resolve) => stream.once("drain", resolve));
  };
  if (parts.prefix) await write(Buffer.from(parts.prefix));
  for (let i = 0; i < parts.times; i++) await write(chunk);
  if (parts.suffix) await write(Buffer.from(parts.suffix));
  stream.end();
  await finished;
  return { compressed: Buffer.concat(output), crc, size };
}
