/** Reading what a TCP service on the loopback says: whale's containers serve their flag as one line on their port. */
import { connect } from "node:net";
import { eventually } from "./kernel.js";

/** One attempt: the first line 127.0.0.1:port sends, or null when it refuses, closes silently or stays quiet 5 s. */
export function firstLineOnce(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    const done = (value: string | null) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(5_000, () => done(null));
    socket.on("data", (chunk) => {
      data += chunk.toString();
      if (data.includes("\n")) done(data.split("\n")[0]!);
    });
    socket.on("end", () => done(data.trim() || null));
    socket.on("error", () => done(null));
  });
}

/**
 * The first line 127.0.0.1:port sends, retried until it answers: right after a container is `running` its process
 * may not listen yet.
 */
export async function firstLine(port: number, timeoutMs = 30_000): Promise<string> {
  const line = await eventually(() => firstLineOnce(port), timeoutMs, 100);
  return line!;
}

/** Whether something accepts TCP connections on 127.0.0.1:port now. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
