// Errors the engine reports to its callers. Each has a stable code (for the protocol and tests), a message
// that says what happened, and where it helps, what the user can do about it.

export type EngineErrorCode =
  | 'model-folder'      // a file of the model folder is missing or broken (see `file`)
  | 'model-load'        // ONNX Runtime refused the model
  | 'prompt-too-long'   // the prompt does not fit in the context
  | 'no-model'          // a request came before a model was loaded
  | 'internal';

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
}

