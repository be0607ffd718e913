// phi/countTokens: the loaded model's own tokenizer and chat template, counted on the sidecar's main thread.
// Why not in the engine's worker: the worker runs one request at a time, so a count would wait behind a whole
// answer, and VS Code's Chat counts many times while it builds a prompt. Why that does not hold up the main thread:
// `countAsync` tokenizes in pieces and gives the event loop a turn every few ms (tokenizer.ts), so status requests
// and cancels are answered while megabytes are counted (a count's text is bounded in paramsCheck.ts). The prompt
// builder (tokenizer and template, about 150 MB and a second to build) is made on the first count for a folder, not
// at load, so it costs nothing where nobody counts.
import type { CountTokensParams, CountTokensResult } from '../protocol';
import { EngineError } from '../engineError';
import { readPromptFiles } from './promptFiles';
import { PromptBuilder } from './promptBuilder';
import type { ChatMessage, ToolDefinition } from './template';

/** A prompt to render and measure: messages and tools. */
type Render = [messages: ChatMessage[], tools?: ToolDefinition[]];

/**
 * The renders a count needs, and how their lengths add up: written once for the blocking and the async count
 * (each answers a yielded render with its length in tokens).
 */
function* countPlan(params: CountTokensParams): Generator<Render, CountTokensResult, number> {
  if (params.messages) {
    // What each message adds to a prompt (its role markers included): the prompt with it alone, less the empty one.
    const empty = yield [[]];
    const tokens = yield [params.messages, params.tools];
    const perMessage: number[] = [];
    for (const m of params.messages) perMessage.push((yield [[m]]) - empty);
    return { tokens, perMessage };
  }
  // Text as it is tokenized inside a message (markup in it is text, see PromptBuilder.render): a message with it,
  // less the same message empty.
  const inMessage = (content: string): Render => [[{ role: 'user', content }]];
  return { tokens: (yield inMessage(params.text ?? '')) - (yield inMessage('')) };
}

export class TokenCounter {
  private built: { dir: string; prompts: PromptBuilder } | undefined;

  /** Counts for the model in `dir` (the loaded one), blocking this thread; undefined `dir`: no model is loaded. */
  count(dir: string | undefined, params: CountTokensParams): CountTokensResult {
    const prompts = this.promptsFor(dir);
    const plan = countPlan(params);
    let step = plan.next();
    while (!step.done) step = plan.next(prompts.render(...step.value).ids.length);
    return step.value;
  }

  /** `count`, giving the event loop turns while it tokenizes. */
  async countAsync(dir: string | undefined, params: CountTokensParams): Promise<CountTokensResult> {
    const prompts = this.promptsFor(dir);
    const plan = countPlan(params);
    let step = plan.next();
    while (!step.done) step = plan.next((await prompts.renderAsync(...step.value)).ids.length);
    return step.value;
  }

  private promptsFor(dir: string | undefined): PromptBuilder {
    if (!dir) throw new EngineError('no-model', 'No model is loaded, so there is no tokenizer to count with. Load a model folder first.');
    if (this.built?.dir !== dir) this.built = { dir, prompts: PromptBuilder.fromFolder(readPromptFiles(dir)) };
    return this.built.prompts;
  }
}
