// Waiting for the user to pause before asking the model, given up as soon as the request is cancelled (VS Code
// cancels a provider call when the next keystroke comes).
// No vscode: a vscode.CancellationToken fits `Cancellation`, and so do the unit tests' fakes.

export interface Cancellation {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

/** How the debounce waits: real timers, unless a test hands in a clock it moves itself. */
export interface Timer {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimer: Timer = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Resolves true after `ms`, or false as soon as `token` is cancelled. */
export function debounce(ms: number, token: Cancellation, timer: Timer = realTimer): Promise<boolean> {
  if (token.isCancellationRequested) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const handle = timer.set(() => {
      subscription.dispose();
      resolve(!token.isCancellationRequested);
    }, ms);
    const subscription = token.onCancellationRequested(() => {
      timer.clear(handle);
      subscription.dispose();
      resolve(false);
    });
  });
}
