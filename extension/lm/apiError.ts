// The error VS Code's Chat (and any `vscode.lm` caller) gets when Phi Local cannot answer: one of the API's
// LanguageModelError kinds where one fits, so that callers can tell the cases apart by `code`, else a plain Error;
// either way with one message that says what to do, and no stack. VS Code shows a provider's error as
// `${message}: ${stack}` when it has a stack (toErrorMessage, verbose), and a stack starts with the message again
// and goes on with the bundle's frames: "…less context.: Error: Phi Local: The request is … at yy.toApiError (…)".
// No `vscode` import, so that the unit tests run this in plain Node: the kinds come in as `LanguageModelErrorKinds`.

/** The API's LanguageModelError factories (`vscode.LanguageModelError` has them). */
export interface LanguageModelErrorKinds {
  NoPermissions(message?: string): Error;
  Blocked(message?: string): Error;
  NotFound(message?: string): Error;
}

export type LanguageModelErrorKind = keyof LanguageModelErrorKinds;

/**
 * The kind for a failure's code (a sidecar EngineErrorCode, or the extension's own: 'remote-not-allowed',
 * 'sidecar-stopped'), or undefined for a plain Error.
 */
export function apiErrorKind(code: string | undefined): LanguageModelErrorKind | undefined {
  switch (code) {
    case 'no-model': // no model folder chosen
    case 'model-folder': // the chosen folder is missing or broken
      return 'NotFound';
    case 'remote-not-allowed': // the user did not agree to send requests to the remote server
      return 'NoPermissions';
    case 'busy': // too many requests wait already: this one is turned away (try again)
      return 'Blocked';
    default: // model-load, prompt-too-long, bad-request, internal, sidecar-stopped: errors of this request
      return undefined;
  }
}

/** The one message for a failure: `detail` is its own message, said once, with what to do where that is known. */
export function apiErrorMessage(code: string | undefined, detail: string): string {
  const said = detail.startsWith('Phi Local') ? detail : `Phi Local: ${detail}`;
  switch (code) {
    case 'no-model':
      return `${said} Run "Phi: Download Model" to get it, or "Phi: Select Model Folder" to choose it.`;
    case 'model-folder':
    case 'model-load':
      return `Phi Local could not load the model: ${detail} Run "Phi: Manage Models" to pick another model or folder.`;
    default:
      return said;
  }
}

/** The error to throw to the API for a failure with `code` and message `detail`. */
export function apiErrorFor(code: string | undefined, detail: string, kinds: LanguageModelErrorKinds): Error {
  const kind = apiErrorKind(code);
  const message = apiErrorMessage(code, detail);
  return withoutStack(kind ? kinds[kind](message) : new Error(message));
}

/** `error` with an empty stack: VS Code then shows its message alone (a stack of the message only would say it twice). */
export function withoutStack<E extends Error>(error: E): E {
  error.stack = '';
  return error;
}
