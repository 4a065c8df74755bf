/**
 * One vocabulary of typed errors. Every error the package throws on bad input is an
 * `AcrError` with a stable `code`; the message names the argument, what was expected and
 * what came, so users can fix the call without reading the source.
 */

export type AcrErrorCode =
  | 'ERR_ARG' // wrong kind of argument (not an array, unknown option value, ...)
  | 'ERR_SHAPE' // sizes that do not fit together
  | 'ERR_DTYPE' // wrong element type
  | 'ERR_RANGE' // a value outside its allowed range (NaN, negative lambda, ...)
  | 'ERR_PARSE' // a file that cannot be parsed (names file and line)
  | 'ERR_IO' // a file that cannot be read or written
  | 'ERR_NATIVE' // the native addon is missing or failed
  | 'ERR_UNSUPPORTED' // a valid request this build or backend cannot serve
  | 'ERR_LOCKED' // a run folder another live process is writing to
  | 'ERR_CORRUPT'; // a file whose checksum or contents show it was damaged (names the file)

export class AcrError extends Error {
  readonly code: AcrErrorCode;
  constructor(code: AcrErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class ArgumentError extends AcrError {
  constructor(message: string) {
    super('ERR_ARG', message);
  }
}
export class ShapeError extends AcrError {
  constructor(message: string) {
    super('ERR_SHAPE', message);
  }
}
export class DTypeError extends AcrError {
  constructor(message: string) {
    super('ERR_DTYPE', message);
  }
}
export class ValueRangeError extends AcrError {
  constructor(message: string) {
    super('ERR_RANGE', message);
  }
}
export class ParseError extends AcrError {
  readonly file: string;
  readonly line: number | undefined;
  constructor(file: string, line: number | undefined, message: string) {
    super('ERR_PARSE', `${file}${line !== undefined ? `:${line}` : ''}: ${message}`);
    this.file = file;
    this.line = line;
  }
}
export class IoError extends AcrError {
  constructor(message: string, cause?: unknown) {
    super('ERR_IO', message, { cause });
  }
}
export class NativeError extends AcrError {
  constructor(message: string, cause?: unknown) {
    super('ERR_NATIVE', message, { cause });
  }
}
export class UnsupportedError extends AcrError {
  constructor(message: string) {
    super('ERR_UNSUPPORTED', message);
  }
}

/** A run folder locked by another live `acr train` (names the folder, the lock file and the pid). */
export class LockedError extends AcrError {
  readonly pid: number;
  constructor(message: string, pid: number) {
    super('ERR_LOCKED', message);
    this.pid = pid;
  }
}

/** A file that exists but was damaged (checksum mismatch, truncated, impossible contents). */
export class CorruptFileError extends AcrError {
  readonly file: string;
  constructor(file: string, message: string) {
    super('ERR_CORRUPT', `${file}: ${message}`);
    this.file = file;
  }
}

/**
 * Process exit code of an error, the same for every command: 2 for a usage problem the caller
 * can fix by changing the command line (bad flag, run folder busy), 1 for everything else.
 */
export function exitCodeOf(err: AcrError): number {
  return err.code === 'ERR_ARG' || err.code === 'ERR_LOCKED' ? 2 : 1;
}

const CODES = new Set<string>(['ERR_ARG', 'ERR_SHAPE', 'ERR_DTYPE', 'ERR_RANGE', 'ERR_PARSE', 'ERR_IO', 'ERR_NATIVE', 'ERR_UNSUPPORTED', 'ERR_LOCKED', 'ERR_CORRUPT']);

/** Turns an error thrown by the native addon (an Error with a `code`) into the matching AcrError. */
export function fromNative(err: unknown): AcrError {
  if (err instanceof AcrError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' && CODES.has(e.code) ? (e.code as AcrErrorCode) : 'ERR_NATIVE';
  switch (code) {
    case 'ERR_ARG':
      return new ArgumentError(msg);
    case 'ERR_SHAPE':
      return new ShapeError(msg);
    case 'ERR_DTYPE':
      return new DTypeError(msg);
    case 'ERR_RANGE':
      return new ValueRangeError(msg);
    default:
      return new AcrError(code, msg, { cause: err });
  }
}
