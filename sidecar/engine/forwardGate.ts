// Requests running at once take turns on the one model: each forward pass (a prefill chunk or a decode step) waits
// for the gate, and the gate picks who goes next. A request still waiting for its first token goes before those
// already streaming (so Explain, asked while a long chat answer streams, starts after at most one step of it plus
// its own prefill), interactive before background, and among equals whoever went least recently (round robin, so two
// streaming answers advance together). Everything that touches the backend's slots runs inside the gate.
// Pure scheduling, no backend.

/** 0 = interactive, 1 = background (completions), 2 = idle (warming caches). */
export type GatePriority = 0 | 1 | 2;

export interface GateTicket {
  priority: GatePriority;
  /** Whether the request has its first token: it then yields to those that have not. */
  streaming: boolean;
}

interface Waiter {
  ticket: GateTicket;
  order: number;
  go(): void;
}

export class ForwardGate {
  private busy = false;
  private readonly waiting: Waiter[] = [];
  private readonly served = new WeakMap<GateTicket, number>();
  private clock = 0;

  /** Runs `work` when it is `ticket`'s turn; nothing else runs inside the gate meanwhile. */
  async run<T>(ticket: GateTicket, work: () => T | Promise<T>): Promise<T> {
    // A streaming request lets the event loop turn before each step: a pass of the native backend blocks the thread,
    // so without this a request arriving meanwhile (a worker message, a prompt being tokenized) would never get in.
    if (ticket.streaming) await new Promise<void>((go) => setImmediate(go));
    await new Promise<void>((go) => {
      this.waiting.push({ ticket, order: this.served.get(ticket) ?? -1, go });
      this.next();
    });
    try {
      return await work();
    } finally {
      this.served.set(ticket, ++this.clock);
      this.busy = false;
      // A request still prefilling keeps its turn: its next pass comes within a few microtasks, before this hands
      // over (so its prompt goes in one run, not a pass at a time between another answer's steps).
      if (ticket.streaming) this.next();
      else setImmediate(() => this.next());
    }
  }

  private next(): void {
    if (this.busy || this.waiting.length === 0) return;
    const before = (a: Waiter, b: Waiter) =>
      (Number(a.ticket.streaming) - Number(b.ticket.streaming) || a.ticket.priority - b.ticket.priority || a.order - b.order) < 0;
    let best = 0;
    for (let i = 1; i < this.waiting.length; i++) if (before(this.waiting[i], this.waiting[best])) best = i;
    const [chosen] = this.waiting.splice(best, 1);
    this.busy = true;
    chosen.go();
  }
}
