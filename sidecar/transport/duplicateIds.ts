// A request whose id is that of one not yet answered is answered at once with InvalidRequest and goes no further.
// vscode-jsonrpc keys waiting requests by `req-${id}` (so 1 and "1" too): a second one replaces the first, which is
// then never answered; one already running loses its cancellation to the second. Either way the client, which
// matches answers by id, cannot tell them apart. The first request runs on and is answered as usual.
import {
  AbstractMessageReader, AbstractMessageWriter, ErrorCodes, Message, type DataCallback, type Disposable, type MessageReader,
  type MessageWriter, type ResponseMessage,
} from 'vscode-languageserver/node';

/** `reader` and `writer` with the ids of requests read and not yet answered kept, and a repeat of one refused. */
export function refuseDuplicateIds(
  reader: MessageReader, writer: MessageWriter, log: (message: string) => void,
): { reader: MessageReader; writer: MessageWriter } {
  const running = new Set<string>();
  return { reader: new DuplicateIdReader(reader, writer, running, log), writer: new AnswerWriter(writer, running) };
}

class DuplicateIdReader extends AbstractMessageReader {
  constructor(
    private readonly inner: MessageReader, private readonly writer: MessageWriter,
    private readonly running: Set<string>, private readonly log: (message: string) => void,
  ) {
    super();
    inner.onError((e) => this.fireError(e));
    inner.onClose(() => this.fireClose());
    inner.onPartialMessage((info) => this.firePartialMessage(info));
  }

  listen(callback: DataCallback): Disposable {
    return this.inner.listen((message) => {
      if (Message.isRequest(message)) {
        const key = String(message.id);
        if (this.running.has(key)) {
          const text = `A request with id ${JSON.stringify(message.id)} is still running: ids must differ among requests not yet answered.`;
          this.log(`Refused ${message.method}: ${text}`);
          // Straight to the transport's writer: this answer does not end the running request.
          const refusal: ResponseMessage = { jsonrpc: '2.0', id: message.id, error: { code: ErrorCodes.InvalidRequest, message: text } };
          void this.writer.write(refusal).catch(() => {});
          return;
        }
        this.running.add(key);
      }
      callback(message);
    });
  }

  override dispose(): void {
    super.dispose();
    this.inner.dispose();
  }
}

/** The connection's writer: an answer (a response) ends its request's id. */
class AnswerWriter extends AbstractMessageWriter implements MessageWriter {
  constructor(private readonly inner: MessageWriter, private readonly running: Set<string>) {
    super();
    inner.onError((e) => this.fireError(...e));
    inner.onClose(() => this.fireClose());
  }

  write(message: Message): Promise<void> {
    // Any message with an id and no method answers that id (a success whose result is undefined included).
    const m = message as { id?: unknown; method?: unknown };
    if (m.method === undefined && (typeof m.id === 'number' || typeof m.id === 'string')) this.running.delete(String(m.id));
    return this.inner.write(message);
  }

  end(): void {
    this.inner.end();
  }

  override dispose(): void {
    super.dispose();
    this.inner.dispose();
  }
}
