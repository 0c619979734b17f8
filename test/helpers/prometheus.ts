/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: prom-client writes the
 * format but has no parser. Every line must be a `# HELP`, a `# TYPE`, another comment, blank, or a sample
 * `name{label="value",...} value [timestamp]` of a family declared by a `# TYPE` above it; anything else throws
 * with the line number.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Family name -> counter | gauge | histogram | summary | untyped. */
  types: Map<string, string>;
  /** The sum of the samples of `name` whose labels include every pair of `labels` (0 when none). */
  sum(name: string, labels?: Record<string, string>): number;
  /** The samples of `name` whose labels include every pair of `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const SUFFIXES: Record<string, string[]> = { histogram: ["_bucket", "_sum", "_count"], summary: ["_sum", "_count"] };

export function parsePrometheus(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const lines = text.split("\n");
  if (lines.at(-1) !== "") throw new Error("the exposition must end with a newline");
  lines.forEach((line, index) => {
    const where = `line ${index + 1} (${JSON.stringify(line)})`;
    if (line === "") return;
    if (line.startsWith("#")) {
      const type = new RegExp(`^# TYPE (${NAME}) (\\S+)$`).exec(line);
      if (type) {
        if (!TYPES.has(type[2]!)) throw new Error(`${where}: unknown type`);
        if (types.has(type[1]!)) throw new Error(`${where}: a second TYPE for ${type[1]}`);
        types.set(type[1]!, type[2]!);
      } else if (line.startsWith("# TYPE") || (line.startsWith("# HELP") && !new RegExp(`^# HELP ${NAME} `).test(line))) {
        throw new Error(`${where}: malformed HELP or TYPE`);
      }
      return;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`${where}: not a sample`);
    const [, name, rawLabels, rawValue] = match;
    const value = parseValue(rawValue!);
    if (value === null) throw new Error(`${where}: bad value`);
    if (familyOf(name!, types) === null) throw new Error(`${where}: no TYPE declared for ${name}`);
    samples.push({ name: name!, labels: parseLabels(rawLabels ?? "", where), value });
  });
  const find = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return { samples, types, find, sum: (name, labels) => find(name, labels).reduce((total, s) => total + s.value, 0) };
}

function familyOf(name: string, types: Map<string, string>): string | null {
  if (types.has(name)) return name;
  for (const [family, type] of types) {
    if ((SUFFIXES[type] ?? []).some((suffix) => name === family + suffix)) return family;
  }
  return null;
}

/** As Prometheus reads values (Go's ParseFloat): NaN and Inf in any case (prom-client writes `Nan`). */
function parseValue(raw: string): number | null {
  const word = raw.toLowerCase();
  if (word === "+inf" || word === "inf") return Infinity;
  if (word === "-inf") return -Infinity;
  if (word === "nan") return NaN;
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw) ? Number(raw) : null;
}

function parseLabels(raw: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = raw;
  while (rest.length > 0) {
    const match = LABEL.exec(rest);
    if (!match) throw new Error(`${where}: malformed labels at ${JSON.stringify(rest)}`);
    if (match[1]! in labels) throw new Error(`${where}: label ${match[1]} twice`);
    labels[match[1]!] = match[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
    rest = rest.slice(match[0].length);
    if (match[3] === "" && rest.length > 0) throw new Error(`${where}: text after the labels`);
  }
  return labels;
}
