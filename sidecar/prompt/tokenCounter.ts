// phi/countTokens: the loaded model's own tokenizer and chat template, counted on the sidecar's main thread.
// Why not in the engine's worker: the worker runs one request at a time, so a count would wait behind a whole
// answer, and VS Code's Chat counts many times while it builds a prompt. The prompt builder (tokenizer and template,
// about 150 MB and a second to build) is made on the first count for a folder, not at load, so it costs nothing
// where nobody counts.
import type { CountTokensParams, CountTokensResult } from '../protocol';
import { EngineError } from '../engineError';
import { readPromptFiles } from './promptFiles';
import { PromptBuilder } from './promptBuilder';

export class TokenCounter {
  private built: { dir: string; prompts: PromptBuilder } | undefined;

  /** Counts for the model in `dir` (the loaded one); undefined `dir`: no model is loaded. */
  count(dir: string | undefined, params: CountTokensParams): CountTokensResult {
    if (!dir) throw new EngineError('no-model', 'No model is loaded, so there is no tokenizer to count with. Load a model folder first.');
    const prompts = this.promptsFor(dir);
    if (params.messages) {
      // What each message adds to a prompt (its role markers included): the prompt with it alone, less the empty one.
      const empty = prompts.render([]).ids.length;
      return {
        tokens: prompts.render(params.messages, params.tools).ids.length,
        perMessage: params.messages.map((m) => prompts.render([m]).ids.length - empty),
      };
    }
    // Text as it is tokenized inside a message (markup in it is text, see PromptBuilder.render): a message with it,
    // less the same message empty.
    const inMessage = (content: string) => prompts.render([{ role: 'user', content }]).ids.length;
    return { tokens: inMessage(params.text ?? '') - inMessage('') };
  }

  private promptsFor(dir: string): PromptBuilder {
    if (this.built?.dir !== dir) this.built = { dir, prompts: PromptBuilder.fromFolder(readPromptFiles(dir)) };
    return this.built.prompts;
  }
}
