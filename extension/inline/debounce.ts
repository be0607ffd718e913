// Waiting for the user to pause before asking the model, given up as soon as the request is cancelled (VS Code
// cancels a provider call when the next keystroke comes).
// No vscode: a vscode.CancellationToken fits `Cancellation`, and so do the unit tests' fakes.

export interface Cancellation {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

/** Resolves true after `ms`, or false as soon as `token` is cancelled. */
export function debounce(ms: number, token: Cancellation): Promise<boolean> {
  if (token.isCancellationRequested) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      subscription.dispose();
      resolve(!token.isCancellationRequested);
    }, ms);
    const subscription = token.onCancellationRequested(() => {
      clearTimeout(timer);
      subscription.dispose();
      resolve(false);
    });
  });
}
