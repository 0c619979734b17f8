/**
 * `npm run mock:metactf`: the mock MetaCTF platform on `METACTF_MOCK_PORT` (default 8090), seeded with
 * `METACTF_MOCK_DATASET` (default `baseline`; `none` for empty), accepting the token in `METACTF_API_TOKEN`
 * (default `mock-metactf-token`).
 */
import { startMockServer } from "./server.js";

const dataset = process.env.METACTF_MOCK_DATASET ?? "baseline";
const mock = await startMockServer({
  port: Number(process.env.METACTF_MOCK_PORT ?? 8090),
  host: process.env.METACTF_MOCK_HOST ?? "127.0.0.1",
  token: process.env.METACTF_API_TOKEN || undefined,
  dataset: dataset === "none" ? undefined : dataset,
});
console.log(`mock MetaCTF platform on ${mock.baseUrl} (dataset: ${dataset}); admin routes under ${mock.url}/__admin`);
const stop = () => void mock.stop().then(() => process.exit(0));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
