// Errors an engine reports to its callers, whatever the engine. Each has a stable code (for the protocol and tests), a
// message that says what happened, and where it helps, what the user can do about it. On the wire they travel as a
// JSON-RPC error whose data is `toJSON()` (see toResponseError below): the one mapping from engine errors to the protocol.
import { ResponseError } from 'vscode-languageserver/node';
import { PhiErrorCodes, type EngineErrorCode, type PhiErrorData } from './protocol';

export type { EngineErrorCode };

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    /** The model folder file the error is about, when there is one. */
    readonly file?: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }

  /** Plain data for postMessage / JSON-RPC; `fromJSON` restores it on the other side. */
  toJSON(): { code: EngineErrorCode; message: string; file?: string } {
    return { code: this.code, message: this.message, file: this.file };
  }

  static fromJSON(data: { code: EngineErrorCode; message: string; file?: string }): EngineError {
    return new EngineError(data.code, data.message, data.file);
  }

  /** `e` itself, or an 'internal' error with its message (a bug or a library's surprise, still said plainly). */
  static from(e: unknown): EngineError {
    return e instanceof EngineError ? e : new EngineError('internal', (e as Error)?.message ?? String(e));
  }
}

/** What a phi/* request answers when it fails. */
export function toResponseError(e: unknown): ResponseError<PhiErrorData> {
  const error = EngineError.from(e);
  return new ResponseError(PhiErrorCodes.engine, error.message, error.toJSON());
}

