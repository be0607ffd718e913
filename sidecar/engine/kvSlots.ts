// Which KV cache a request uses. The backend holds several independent caches ("slots"); each remembers the exact
// tokens whose keys and values it holds. A request takes a free slot of its own feature (chat, completion, explain,
// VS Code's Chat…), so a completion no longer throws away the chat's cache and the other way round; it then reuses
// the longest prefix of its prompt that any slot holds (copied in when another slot has more of it), so a new chat
// starts from the system prompt and tool definitions some earlier request already computed. The positions all slots
// hold stay within a memory budget: idle slots are emptied least recently used first.
// Pure bookkeeping, no backend: the generator (generate.ts) does what it decides; the unit tests drive it directly.

export interface KvSlot {
  readonly index: number;
  /** The feature that used it last (e.g. 'chat'), for the choice and for the status. */
  label: string;
  /** The tokens whose keys and values the backend's slot holds, in order: the single source of truth. */
  tokens: number[];
  /** A request is using it: it is never emptied or handed to another request meanwhile. */
  busy: boolean;
  lastUsed: number;
}

export interface SlotChoice {
  slot: KvSlot;
  /** Another slot that holds a longer prefix of the prompt than `slot` does: copy its first `length` positions in. */
  copyFrom?: { slot: KvSlot; length: number };
  /** How many leading prompt tokens `slot` holds once the copy (if any) is made. */
  reuse: number;
}

export interface SlotSummary {
  label: string;
  tokens: number;
  bytes: number;
  busy: boolean;
}

/** One slot per feature that may run at once, and one spare. */
export const DEFAULT_SLOT_COUNT = 5;

export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class KvSlots {
  readonly slots: KvSlot[];
  private clock = 0;

  constructor(count: number, private readonly bytesPerPosition: number, private readonly budgetBytes: number) {
    this.slots = Array.from({ length: Math.max(1, count) }, (_, index) => ({ index, label: '', tokens: [], busy: false, lastUsed: 0 }));
  }

  /**
   * A free slot for a request of `label` whose prompt is `prompt`: one of its own label (the one holding most of the
   * prompt), else an empty one, else the least recently used. Undefined when every slot is busy.
   */
  acquire(label: string, prompt: readonly number[]): SlotChoice | undefined {
    const free = this.slots.filter((s) => !s.busy);
    if (free.length === 0) return undefined;
    const byPrefix = (a: KvSlot, b: KvSlot) => commonPrefixLength(b.tokens, prompt) - commonPrefixLength(a.tokens, prompt) || b.lastUsed - a.lastUsed;
    const slot = free.filter((s) => s.label === label).sort(byPrefix)[0]
      ?? free.find((s) => s.tokens.length === 0)
      ?? [...free].sort((a, b) => a.lastUsed - b.lastUsed)[0];
    slot.busy = true;
    slot.label = label;
    slot.lastUsed = ++this.clock;
    const own = commonPrefixLength(slot.tokens, prompt);
    let best: { slot: KvSlot; length: number } | undefined;
    for (const other of this.slots) {
      if (other === slot) continue;
      const length = commonPrefixLength(other.tokens, prompt);
      if (length > own && length > (best?.length ?? 0)) best = { slot: other, length };
    }
    return best ? { slot, copyFrom: best, reuse: best.length } : { slot, reuse: own };
  }

  release(slot: KvSlot): void {
    slot.busy = false;
    slot.lastUsed = ++this.clock;
  }

  /**
   * Idle slots to empty, least recently used first, so that every slot's positions fit the budget once `growing`
   * holds `length` positions. Busy slots are never chosen: a budget smaller than the running requests need is
   * exceeded rather than a running answer broken.
   */
  evictionsFor(growing: KvSlot | undefined, length: number): KvSlot[] {
    let used = this.slots.reduce((sum, s) => sum + (s === growing ? length : s.tokens.length), 0) * this.bytesPerPosition;
    const out: KvSlot[] = [];
    for (const s of this.slots.filter((x) => x !== growing && !x.busy && x.tokens.length > 0).sort((a, b) => a.lastUsed - b.lastUsed)) {
      if (used <= this.budgetBytes) break;
      used -= s.tokens.length * this.bytesPerPosition;
      out.push(s);
    }
    return out;
  }

  overBudget(): boolean {
    return this.usedBytes > this.budgetBytes;
  }

  get usedBytes(): number {
    return this.slots.reduce((sum, s) => sum + s.tokens.length, 0) * this.bytesPerPosition;
  }

  summary(): SlotSummary[] {
    return this.slots.filter((s) => s.tokens.length > 0 || s.busy)
      .map((s) => ({ label: s.label, tokens: s.tokens.length, bytes: s.tokens.length * this.bytesPerPosition, busy: s.busy }));
  }
}
