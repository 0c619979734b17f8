import { z } from "zod";
import type { JSONSchema } from "zod/v4/core";
import type { RouteRecord } from "./route-table.js";

type JsonSchema = JSONSchema._JSONSchema;

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, unknown>;
  security: Array<Record<string, string[]>>;
  tags: Array<{ name: string }>;
}

/** `/api/v1/users/:id` → `/api/v1/users/{id}`, and the catch-all `/{*rest}` → `/{rest}`, with the parameter names. */
export function openApiPath(path: string): { path: string; parameters: string[] } {
  const parameters: string[] = [];
  const converted = path.replace(/\{\*(\w+)\}|\*(\w+)|:(\w+)/g, (_match, wildcard?: string, bare?: string, named?: string) => {
    const name = (wildcard ?? bare ?? named)!;
    parameters.push(name);
    return `{${name}}`;
  });
  return { path: converted, parameters };
}

/**
 * An OpenAPI 3.1 document of every recorded route. Request schemas come from the zod schemas the routes validate
 * with (`z.toJSONSchema`, input side: what a client sends); routes without them get CTFd's generic envelopes.
 */
export function openApiDocument(routes: RouteRecord[], version: string): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const route of routes) {
    const { path, parameters } = openApiPath(route.path);
    const operations = (paths[path] ??= {});
    const method = route.method.toLowerCase();
    if (operations[method]) continue; // the same route registered twice answers once
    operations[method] = operation(route, path, parameters);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "flaghost",
      version,
      description: "CTFd-compatible /api/v1 and every loaded plugin's routes. Answers use `{ success, data }` or `{ success: false, errors }`.",
    },
    tags: [...new Set(routes.map((route) => route.owner))].sort().map((name) => ({ name })),
    security: [{}, { token: [] }, { session: [] }],
    paths,
    components: {
      securitySchemes: {
        token: { type: "apiKey", in: "header", name: "Authorization", description: "`Token <api token>`" },
        session: { type: "apiKey", in: "cookie", name: "session" },
      },
      schemas: {
        Errors: {
          type: "object",
          required: ["success", "errors"],
          properties: { success: { const: false }, errors: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } } },
        },
      },
      responses: {
        BadRequest: { description: "Invalid input, with the reasons per field", content: json({ $ref: "#/components/schemas/Errors" }) },
        Error: { description: "Refused or failed", content: json({ $ref: "#/components/schemas/Errors" }) },
      },
    },
  };
}

function operation(route: RouteRecord, path: string, pathParameters: string[]): Record<string, unknown> {
  const { doc } = route;
  const params = doc.params ? objectSchema(doc.params, "input") : null;
  const query = doc.query ? objectSchema(doc.query, "input") : null;
  const parameters = [
    ...pathParameters.map((name) => ({ name, in: "path", required: true, schema: params?.properties[name] ?? { type: "string" } })),
    ...Object.entries(query?.properties ?? {}).map(([name, schema]) => ({ name, in: "query", required: query!.required.includes(name), schema })),
  ];
  const validates = Boolean(doc.params || doc.query || doc.body);
  return {
    tags: [route.owner],
    operationId: `${route.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+/g, "_")}`,
    summary: doc.summary ?? `${route.method} ${route.path}`,
    ...(doc.description ? { description: doc.description } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body ? { requestBody: { required: true, content: json(toSchema(doc.body, "input")) } } : {}),
    responses: {
      "200": {
        description: "Success",
        content: json({
          type: "object",
          required: ["success"],
          properties: { success: { const: true }, data: doc.response ? toSchema(doc.response, "output") : {} },
        }),
      },
      ...(validates ? { "400": { $ref: "#/components/responses/BadRequest" } } : {}),
      default: { $ref: "#/components/responses/Error" },
    },
  };
}

/** JSON Schema (2020-12, the dialect of OpenAPI 3.1) of a zod schema; a type JSON cannot express becomes `{}`. */
function toSchema(schema: z.ZodType, io: "input" | "output"): JSONSchema.JSONSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" });
  return rest;
}

function objectSchema(schema: z.ZodType, io: "input" | "output"): { properties: Record<string, JsonSchema>; required: string[] } {
  const converted = toSchema(schema, io);
  return { properties: converted.properties ?? {}, required: converted.required ?? [] };
}

function json(schema: unknown) {
  return { "application/json": { schema } };
}
