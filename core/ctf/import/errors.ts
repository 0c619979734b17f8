/**
 * Why an import did not happen, in words an event host can act on (printed by the CLI, 400/409 over HTTP).
 *  - "invalid": the file is not a usable CTFd export (unreadable zip, missing db/ file, bad JSON, missing column).
 *  - "refused": the database already holds an event; importing would mix two events.
 *  - "too-large": the export is past a bound (inflated size of a file or in total, rows per table): 413 over HTTP.
 */
export class ImportError extends Error {
  constructor(
    readonly kind: "invalid" | "refused" | "too-large",
    message: string,
  ) {
    super(message);
    this.name = "ImportError";
  }
}

export const invalidExport = (message: string) => new ImportError("invalid", message);
export const tooLarge = (message: string) => new ImportError("too-large", message);

/** True for an ImportError, also when a second copy of this module made it (checked by name). */
export function isImportError(error: unknown): error is ImportError {
  return error instanceof ImportError || (error as Error | null)?.name === "ImportError";
}
