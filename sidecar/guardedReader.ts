// A MessageReader in front of the transport's own that drops frames vscode-jsonrpc would crash on, instead of letting
// one bad frame kill the sidecar: a `$/cancelRequest` whose params are missing or carry no id (vscode-jsonrpc reads
// `params.id` unguarded, an uncaught TypeError), or a frame that is not a JSON object at all.
import { AbstractMessageReader, type DataCallback, type Disposable, type Message, type MessageReader } from 'vscode-languageserver/node';

/** Why `message` must not reach vscode-jsonrpc, or undefined when it may. */
export function malformedFrame(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'a frame that is not a JSON object';
  const m = message as { method?: unknown; params?: unknown; id?: unknown };
  // Only the notification is read as a cancel; a request of that name (with an id) is answered "no such method".
  if (m.method === '$/cancelRequest' && m.id === undefined) {
    const params = m.params as { id?: unknown } | null | undefined;
    const id = typeof params === 'object' && params !== null ? params.id : undefined;
    if (typeof id !== 'number' && typeof id !== 'string') return 'a $/cancelRequest without an id';
  }
  return undefined;
}

export class GuardedMessageReader extends AbstractMessageReader {
  constructor(private readonly inner: MessageReader, private readonly log: (message: string) => void) {
    super();
    inner.onError((e) => this.fireError(e));
    inner.onClose(() => this.fireClose());
    inner.onPartialMessage((info) => this.firePartialMessage(info));
  }

  listen(callback: DataCallback): Disposable {
    return this.inner.listen((message: Message) => {
      const problem = malformedFrame(message);
      if (problem) this.log(`Ignored ${problem}: ${JSON.stringify(message)?.slice(0, 200)}`);
      else callback(message);
    });
  }

  override dispose(): void {
    super.dispose();
    this.inner.dispose();
  }
}
