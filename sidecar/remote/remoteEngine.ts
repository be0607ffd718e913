// The remote engine: the model on an OpenAI-compatible server (vLLM, llama-server, Ollama, LM Studio, or
// `phi-local serve`). The chat turn around each step (running tool calls in the extension, going on after their
// results) stays in the sidecar (sidecar/chat/), as for the local engine; only the generation step goes to the server.
//
// Which API, decided at load (`api` 'auto', the default):
// - 'completions' (phiCompletionsMode.ts) when Phi-4's tokenizer files are at hand (`tokenizerDir`: the local model
//   folder, or the tokenizer files alone): the prompt rendered here with the model's own template, the same tokens as
//   locally, sent as ids to /v1/completions; tool calls constrained by the server's structured output.
// - 'chat' (chatCompletionsMode.ts) otherwise: /v1/chat/completions with `tools`; the server's template and parser.
// Either can be forced. Token counts: by the tokenizer files when at hand (exact), else the server's /tokenize
// (vLLM's, phi-local serve's), else an estimate on the safe side.
//
// Cancel closes the stream (the server stops generating). A connection that fails before the first byte is retried
// twice; one that breaks after it ends the step with what arrived, and `interrupted` says so.
import { EngineError } from '../engineError';
import type { GenerationOptions, GenerationRequest, GenerationResult, InferenceEngine, LoadRequest } from '../inferenceEngine';
import { PromptBuilder } from '../prompt/promptBuilder';
import { readPromptFiles } from '../prompt/promptFiles';
import { TokenCounter } from '../prompt/tokenCounter';
import type { ChatMessage, CountTokensParams, CountTokensResult, ModelInfo, ToolDefinition } from '../protocol';
import { generateByChat, openAiMessages } from './chatCompletionsMode';
import { generateByPhiCompletions } from './phiCompletionsMode';
import { ServerConnection } from './serverConnection';

export type RemoteApi = 'auto' | 'chat' | 'completions';

export interface RemoteOptions {
  /** The server's OpenAI base URL, e.g. http://gpu-box:8000/v1. */
  url: string;
  /** The model to use; default: the first the server lists. */
  model?: string;
  apiKey?: string;
  api?: RemoteApi;
  /** A folder with Phi-4's tokenizer.json and tokenizer_config.json (the model folder will do). */
  tokenizerDir?: string;
  /** Where the proxy and CA settings come from (common/network.ts: networkEnv); default: this process's environment. */
  env?: Record<string, string | undefined>;
}

export class RemoteEngine implements InferenceEngine {
  private info: ModelInfo | undefined;
  private readonly server: ServerConnection;
  /** Phi-4's prompt builder, in the completions mode. */
  private prompts: PromptBuilder | undefined;
  private readonly counter = new TokenCounter();

  constructor(private readonly options: RemoteOptions) {
    this.server = new ServerConnection(options.url, options.apiKey, options.env);
  }

  get model(): ModelInfo | undefined {
    return this.info;
  }

  /** Which API the loaded model is spoken to with. */
  get api(): 'chat' | 'completions' {
    return this.prompts ? 'completions' : 'chat';
  }

  async load(request: LoadRequest): Promise<ModelInfo> {
    const started = performance.now();
    this.info = undefined;
    const base = this.server.base;
    request.onProgress?.(`Asking ${base} for its models`);
    const res = await this.server.request('/models', { method: 'GET' });
    const list = ((await res.json()) as { data?: { id: string; max_model_len?: number }[] }).data ?? [];
    const chosen = this.options.model ? list.find((m) => m.id === this.options.model) : list[0];
    if (!chosen) {
      throw new EngineError('model-load', this.options.model
        ? `${base} does not serve "${this.options.model}"; it lists ${list.map((m) => m.id).join(', ') || 'no model'}.`
        : `${base} lists no model.`);
    }
    const warnings: string[] = [];
    this.prompts = undefined;
    const api = this.options.api ?? 'auto';
    if (api !== 'chat' && this.options.tokenizerDir) {
      try {
        this.prompts = PromptBuilder.fromFolder(readPromptFiles(this.options.tokenizerDir));
      } catch (e) {
        if (api === 'completions') throw new EngineError('model-load', `The completions API needs Phi-4's tokenizer files: ${(e as Error).message}`);
        warnings.push(`Phi-4's tokenizer files could not be read (${(e as Error).message}); the server's chat template is used.`);
      }
    } else if (api === 'completions') {
      throw new EngineError('model-load', 'The completions API needs Phi-4\'s tokenizer files: download the model (or its tokenizer files) first.');
    }
    this.info = {
      dir: `${base} · ${chosen.id}`, id: chosen.id, backend: 'remote', executionProvider: `remote (${this.server.host})`, fallbacks: [],
      contextLength: chosen.max_model_len ?? 0, modelContextLength: chosen.max_model_len ?? 0, numLayers: 0, vocabSize: 0,
      kvType: `remote · ${this.api === 'completions' ? 'Phi-4 prompt, /v1/completions' : '/v1/chat/completions'}`,
      loadMs: performance.now() - started, warnings,
    };
    return this.info;
  }

  private loaded(): ModelInfo {
    if (!this.info) throw new EngineError('no-model', 'No remote model is connected. Check the remote engine\'s settings.');
    return this.info;
  }

  generate(request: GenerationRequest, options: GenerationOptions = {}): Promise<GenerationResult> {
    const info = this.loaded();
    return this.prompts
      ? generateByPhiCompletions(this.server, info.id!, { prompts: this.prompts, contextLength: info.contextLength }, request, options)
      : generateByChat(this.server, info.id!, request, options);
  }

  async renderPrompt(messages: ChatMessage[], tools?: ToolDefinition[]): Promise<{ text: string; ids: number[] }> {
    this.loaded();
    if (!this.prompts) throw new EngineError('internal', 'In the chat-completions mode the server applies its own chat template, so the prompt is not known here.');
    return this.prompts.render(messages, tools);
  }

  async countTokens(params: CountTokensParams): Promise<CountTokensResult> {
    this.loaded();
    if (this.prompts) return this.counter.countAsync(this.options.tokenizerDir, params);
    const count = async (body: Record<string, unknown>): Promise<number> => {
      // vLLM's /tokenize is beside /v1, not under it.
      const res = await this.server.fetch(`${this.server.base.endsWith('/v1') ? '/../tokenize' : '/tokenize'}`, { method: 'POST', body: JSON.stringify({ model: this.info?.id, ...body }) }).catch(() => undefined);
      if (res?.ok) {
        const n = ((await res.json()) as { count?: unknown }).count;
        if (typeof n === 'number') return n;
      }
      // No tokenizer endpoint: an estimate (about 3.5 characters a token for English and code), on the safe side.
      return Math.ceil(JSON.stringify(body).length / 3);
    };
    if (params.messages) {
      const tokens = await count({ messages: openAiMessages(params.messages), add_generation_prompt: true });
      const perMessage = await Promise.all(params.messages.map((m) => count({ prompt: m.content }).then((n) => n + 3)));
      return { tokens, perMessage };
    }
    return { tokens: await count({ prompt: params.text ?? '' }) };
  }

  async dispose(): Promise<void> {
    this.info = undefined;
  }
}
