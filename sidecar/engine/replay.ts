// TEST DOUBLE — replay mode. Editor and sidecar tests need "the model" to give a known answer (a specific tool
// call, say), which random test weights never do. With PHI_LOCAL_REPLAY=/path/replies.json set for the sidecar, its
// composition root (sidecar/engineChoice.ts) hands the file to the engine, whose worker loads the model as usual (everything else stays real), but each generation takes its tokens from
// the next canned reply instead of sampling: the reply is tokenized by the model's own tokenizer and fed token by
// token through the same loop (forward passes, streaming, stop tokens, tool-call detection). The sidecar's log says
// "replay mode" when it is on.
//
// File format: a JSON array; each entry is one generation's output, in order, as the model would write it:
//   [
//     "<|tool_call|>[{\"name\": \"read_file\", \"arguments\": {\"path\": \"a.ts\"}}]<|/tool_call|>",
//     "The file exports one function."
//   ]
// - a reply is plain text; it may contain a tool call, `<|tool_call|>[…]<|/tool_call|>` (markers as written here);
// - generation stops after `<|/tool_call|>`, or at the end of the text (as if the model wrote `<|end|>`);
// - every generation takes the next entry, a turn with tool calls takes one per step; replies are not grammar
//   constrained, so an entry can also hold a broken call to test how it is refused;
// - once all are used, a generation fails with a clear error.
import * as fs from 'node:fs';
import { EngineError } from '../engineError';
import type { PhiTokenizer } from '../prompt/tokenizer';

export const REPLAY_ENV = 'PHI_LOCAL_REPLAY';

export class ReplayScript {
  private next = 0;

  constructor(readonly file: string, private readonly replies: readonly string[]) {}

  /** The script in `file`. A file that is missing or not a list of strings is an error. */
  static fromFile(file: string): ReplayScript {
    let replies: unknown;
    try {
      replies = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new EngineError('internal', `${REPLAY_ENV}=${file}: ${(e as Error).message}`);
    }
    if (!Array.isArray(replies) || !replies.every((r) => typeof r === 'string')) {
      throw new EngineError('internal', `${REPLAY_ENV}=${file} must hold a JSON array of strings (see sidecar/engine/replay.ts).`);
    }
    return new ReplayScript(file, replies);
  }

  get remaining(): number {
    return this.replies.length - this.next;
  }

  /** The next reply as token ids (the generation loop ends it at its end, as at an eos). */
  nextReply(tokenizer: PhiTokenizer): number[] {
    if (this.next >= this.replies.length) {
      throw new EngineError('internal', `Replay mode: all ${this.replies.length} replies of ${this.file} are used.`);
    }
    return tokenizer.encode(this.replies[this.next++]);
  }
}
