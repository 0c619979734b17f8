import { crc32, createDeflateRaw } from "node:zlib";

/**
 * A minimal zip writer for tests: every entry STOREd (no compression), names taken as given (so a test can
 * write unsafe ones such as "../evil.json"). Entries: name -> content.
 */
export function zip(entries: Record<string, string | Buffer>): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const data = typeof content === "string" ? Buffer.from(content, "utf8") : content;
    const fileName = Buffer.from(name, "utf8");
    const crc = crc32(data);
    // DOS time 00:00:00, date 2025-03-01.
    const dosTime = 0;
    const dosDate = ((2025 - 1980) << 9) | (3 << 5) | 1;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // STORE
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, fileName, data);

    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(20, 4); // made by
    header.writeUInt16LE(20, 6); // needed
    header.writeUInt16LE(0x0800, 8);
    header.writeUInt16LE(0, 10);
    header.writeUInt16LE(dosTime, 12);
    header.writeUInt16LE(dosDate, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(data.length, 20);
    header.writeUInt32LE(data.length, 24);
    header.writeUInt16LE(fileName.length, 28);
    // extra length, comment length, disk, internal and external attributes stay 0
    header.writeUInt32LE(offset, 42);
    central.push(header, fileName);

    offset += local.length + fileName.length + data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  const count = Object.keys(entries).length;
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** An entry for deflatedZip: bytes, or one chunk repeated (so a test can describe 480 MB without holding it). */
export type DeflatedEntry = string | Buffer | { prefix?: string; repeat: string | Buffer; times: number; suffix?: string };

/**
 * A zip whose entries are DEFLATEd, with the true sizes in its headers. A repeated chunk is compressed as a
 * stream, so a small zip inflating to hundreds of megabytes (a zip bomb) is made without ever holding them.
 */
export async function deflatedZip(entries: Record<string, DeflatedEntry>): Promise<Buffer> {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const { compressed, crc, size } = await deflate(content);
    const fileName = Buffer.from(name, "utf8");
    const dosDate = ((2025 - 1980) << 9) | (3 << 5) | 1;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8); // DEFLATE
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(fileName.length, 26);
    locals.push(local, fileName, compressed);

    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(0x0800, 8);
    header.writeUInt16LE(8, 10);
    header.writeUInt16LE(dosDate, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(compressed.length, 20);
    header.writeUInt32LE(size, 24);
    header.writeUInt16LE(fileName.length, 28);
    header.writeUInt32LE(offset, 42);
    central.push(header, fileName);
    offset += local.length + fileName.length + compressed.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  const count = Object.keys(entries).length;
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
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
