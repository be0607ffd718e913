// Which of VS Code's tools (externalTools.ts) each chat conversation offers Phi, as the user chose them in the
// "Tools…" picker. Kept in the workspace's state (a Memento), by conversation id, so a reload keeps it: tools are
// registered per window and workspace, and a conversation's journal (conversationStore.ts) merges only its
// messages, not fields of the conversation set after its first save. A new chat has no id until its first message:
// its choice waits as `pending` and goes to the conversation that message creates (adopt). No choice: the default
// (read-only tools within a budget, externalTools.ts defaultChoice). No vscode import: unit-tested.

/** What this needs of a vscode.Memento. */
export interface ChoiceMemento {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void> | Promise<void>;
}

export const TOOL_CHOICES_KEY = 'phiLocal.chatTools';

type Choices = Record<string, string[]>;

export class ToolChoices {
  private pending: string[] | undefined;
  /** What was last written: read at once by the turn that follows a write. */
  private cache: Choices | undefined;

  constructor(
    private readonly memento: ChoiceMemento,
    /** Whether a conversation still exists: the choices of deleted ones are dropped on the next write. */
    private readonly exists: (conversationId: string) => boolean,
  ) {}

  private all(): Choices {
    if (this.cache) return this.cache;
    const value = this.memento.get<unknown>(TOOL_CHOICES_KEY);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Choices) : {};
  }

  /** The choice for a conversation (undefined: the new chat's), or undefined when none was made. */
  get(conversationId: string | undefined): string[] | undefined {
    if (!conversationId) return this.pending ? [...this.pending] : undefined;
    const names = this.all()[conversationId];
    return Array.isArray(names) ? names.filter((n) => typeof n === 'string') : undefined;
  }

  /** Remembers a choice (at once for get(); the promise: once the Memento has it). */
  set(conversationId: string | undefined, names: readonly string[]): Promise<void> {
    if (!conversationId) {
      this.pending = [...names];
      return Promise.resolve();
    }
    const next: Choices = {};
    for (const [id, chosen] of Object.entries(this.all())) if (this.exists(id)) next[id] = chosen;
    next[conversationId] = [...names];
    this.cache = next;
    return Promise.resolve(this.memento.update(TOOL_CHOICES_KEY, next));
  }

  /** The new chat's choice goes to the conversation its first message created. */
  adopt(conversationId: string): Promise<void> {
    const pending = this.pending;
    this.pending = undefined;
    return pending ? this.set(conversationId, pending) : Promise.resolve();
  }

  /** A new chat starts with the default again. */
  clearPending(): void {
    this.pending = undefined;
  }
}
