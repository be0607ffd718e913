// The model folder's tokenizer: `@huggingface/tokenizers` on tokenizer.json (for Phi-4-mini: o200k_base byte-level
// BPE plus the Phi-4 added tokens `<|user|>`, `<|end|>`, … at 199999 and 200018–200028), and a streaming
// detokenizer that never emits half a UTF-8 character. See shared/reference/phi4-format.md §3.
import { Tokenizer } from '@huggingface/tokenizers';
import { EngineError } from '../engineError';
import { textPieces } from './textPieces';

/** Anything with an `aborted` flag: an AbortSignal, or the engine worker's shared cancel flag. */
export interface CancelSignal {
  readonly aborted: boolean;
}

/**
 * Gives the event loop a turn once this thread has tokenized for TURN_MS since its last one (on the sidecar's main
 * thread, status requests and cancels are read then). By time, not per piece: a conversation may have many pieces.
 */
const TURN_MS = 10;
let lastTurn = 0;
async function pace(): Promise<void> {
  if (performance.now() - lastTurn < TURN_MS) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  lastTurn = performance.now();
}

/** Turns generated ids into text as they arrive. */
export interface StreamDecoder {
  /** Feeds one id; returns the text that became complete with it ('' while a UTF-8 character is still partial). */
  push(id: number): string;
  /**
   * Ends the stream: returns what is still pending (U+FFFD for an incomplete UTF-8 character, as `decode` gives)
   * and resets the decoder, so it can be used again for a new stream.
   */
  flush(): string;
}

export class PhiTokenizer {
  /** Highest id known to the tokenizer + 1 (200029 for Phi-4-mini; the model's logits have 200064 rows). */
  readonly vocabSize: number;

  private readonly tokenizer: Tokenizer;
  /** Token string per id, as the library sees it (base vocab + added tokens); holes are undefined. */
  private readonly vocab: readonly (string | undefined)[];
  /** Added-token ids → their text. The decoder emits these as text, not as byte-level characters. */
  private readonly addedText = new Map<number, string>();
  /** Per id, the bytes its byte-level token string stands for; filled lazily. */
  private readonly bytesCache: (Uint8Array | undefined)[] = [];
  /** Added tokens' text, where textPieces must not cut; undefined: the text is never cut (see the constructor). */
  private readonly uncut: string[] | undefined;

  constructor(tokenizerJson: object, tokenizerConfig: object) {
    const json = tokenizerJson as { decoder?: { type?: string }; model?: { type?: string }; normalizer?: unknown; pre_tokenizer?: unknown };
    // The stream decoder works on the byte level; it is exact only for a ByteLevel decoder (GPT-2 family, o200k).
    if (json.decoder?.type !== 'ByteLevel') {
      throw new EngineError('model-folder',
        `tokenizer.json has decoder ${JSON.stringify(json.decoder?.type)}; only byte-level BPE tokenizers ` +
        '(decoder "ByteLevel", as Phi-4-mini\'s) are supported.', 'tokenizer.json');
    }
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new EngineError('model-folder', `tokenizer.json could not be loaded: ${(e as Error).message}`, 'tokenizer.json');
    }
    // The library's model keeps id → token string (added tokens included), with holes for unused ids.
    this.vocab = (this.tokenizer.model as unknown as { vocab: (string | undefined)[] }).vocab;
    this.vocabSize = this.vocab.length;
    // The library's ByteLevel decoder recognises added tokens by their content; mirror that exactly.
    for (const [id, token] of this.tokenizer.get_added_tokens_decoder()) {
      if (this.vocab[id] === token.content) this.addedText.set(id, token.content);
    }
    // Cutting is exact only where nothing rewrites the text around a cut: no normalizer, no prefix space added to
    // each piece, no added token that strips its neighbours' whitespace (true of Phi-4's files).
    const added = [...this.tokenizer.get_added_tokens_decoder().values()];
    const exact = !json.normalizer && !/"add_prefix_space":true/.test(JSON.stringify(json.pre_tokenizer ?? null)) &&
      added.every((t) => !t.lstrip && !t.rstrip);
    this.uncut = exact ? added.map((t) => t.content) : undefined;
  }

  /**
   * Text → ids. Added tokens (`<|user|>`, `<|end|>`, …) are matched literally anywhere; no BOS/EOS is added.
   * Tokenized in pieces (textPieces.ts), so that the time grows linearly with the text: the same ids as whole, but
   * for stretches of over 4096 characters without a break (a word, number or run of punctuation that long).
   */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const piece of this.pieces(text)) for (const id of this.encodeWhole(piece)) ids.push(id);
    return ids;
  }

  /**
   * `encode`, giving the event loop turns between pieces and stopping once `signal` is aborted (then undefined):
   * megabytes of text take seconds, which must not hold up status requests or a Stop.
   */
  async encodeAsync(text: string): Promise<number[]>;
  async encodeAsync(text: string, signal: CancelSignal | undefined): Promise<number[] | undefined>;
  async encodeAsync(text: string, signal?: CancelSignal): Promise<number[] | undefined> {
    const ids: number[] = [];
    for (const piece of this.pieces(text)) {
      if (signal?.aborted) return undefined;
      for (const id of this.encodeWhole(piece)) ids.push(id);
      await pace();
    }
    return ids;
  }

  private pieces(text: string): Iterable<string> {
    return this.uncut ? textPieces(text, this.uncut) : text.length > 0 ? [text] : [];
  }

  private encodeWhole(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Ids → text, special tokens kept as their text. Invalid UTF-8 becomes U+FFFD. */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    // clean_up_tokenization_spaces is forced off: on byte-level BPE it would change the text (" ." → "."), and
    // decode must stay the exact inverse of encode (the library's default, when the config says nothing, is on).
    return this.tokenizer.decode(ids as number[], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.vocab[id] : undefined;
  }

  createStreamDecoder(): StreamDecoder {
    return new ByteLevelStreamDecoder((id) => this.piece(id));
  }

  /**
   * What one id contributes to the text: an added token's text (`<|end|>` …), or the bytes a byte-level token
   * stands for (empty for an unknown id, which `decode` also drops). O(1) amortised: bytes are cached per id.
   */
  private piece(id: number): string | Uint8Array {
    const added = this.addedText.get(id);
    if (added !== undefined) return added;
    let bytes = this.bytesCache[id];
    if (bytes === undefined) {
      const token = this.idToToken(id);
      if (token === undefined) return EMPTY;
      bytes = new Uint8Array(token.length);
      let n = 0;
      // Byte-level tokens only hold characters of the 256-entry map (all in the BMP); like the library's decoder,
      // an unmapped character counts as byte 0.
      for (const ch of token) bytes[n++] = UNICODE_TO_BYTE.get(ch) ?? 0;
      bytes = bytes.subarray(0, n);
      this.bytesCache[id] = bytes;
    }
    return bytes;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * GPT-2's byte ↔ unicode map used by ByteLevel pre-tokenizers/decoders: printable bytes map to themselves, the
 * others to U+0100 upwards, in byte order.
 */
const UNICODE_TO_BYTE: ReadonlyMap<string, number> = (() => {
  const map = new Map<string, number>();
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  for (let b = 0; b < 256; b++) map.set(String.fromCharCode(printable(b) ? b : next++), b);
  return map;
})();

/**
 * Byte-level streaming: each id adds its bytes to a streaming UTF-8 decoder, which returns only whole characters
 * and keeps an incomplete one for the next id. An added token first ends the pending byte run (as `decode` does
 * — its run is decoded on its own) and then adds its text. O(token length) per id; nothing is re-decoded.
 */
class ByteLevelStreamDecoder implements StreamDecoder {
  // ignoreBOM: a U+FEFF in the text is content, not a byte order mark (the library's decoder does the same).
  private utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  constructor(private readonly piece: (id: number) => string | Uint8Array) {}

  push(id: number): string {
    const piece = this.piece(id);
    if (typeof piece === 'string') return this.utf8.decode() + piece;
    return this.utf8.decode(piece, { stream: true });
  }

  flush(): string {
    return this.utf8.decode();
  }
}
