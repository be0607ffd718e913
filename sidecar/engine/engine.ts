// The engine as the rest of the sidecar sees it: load a model folder, render prompts, generate with
// streaming and cancellation. The model itself lives in a worker thread (worker.ts); requests are queued so
// two callers never interleave on the one KV cache.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { EngineError } from './errors';
import type { GenerateRequest, GenerateResult } from './generate';
import type { ChatMessage, ToolDefinition } from './template';
import type { RenderedPrompt } from './promptBuilder';
import type { HostMessage, LoadOptions, ModelInfo, WorkerMessage } from './workerProtocol';

export type { RenderedPrompt } from './promptBuilder';
export type { LoadOptions, ModelInfo } from './workerProtocol';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onText?(text: string, tokens: number): void;
  onProgress?(message: string): void;
}

/** A host message before it gets its id. */
type Request = HostMessage extends infer M ? (M extends HostMessage ? Omit<M, 'id'> : never) : never;

/** The worker: dist/engineWorker.js when bundled; from sources (tests, tsx), worker.ts through tsx's loader. */
function startWorker(): Worker {
  if (!__filename.endsWith('.ts')) return new Worker(path.join(__dirname, 'engineWorker.js'));
  const source = path.join(__dirname, 'worker.ts');
  return new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(source)});`, { eval: true });
}

export class Engine {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private loadedModel: ModelInfo | undefined;

  /** The model that is loaded, if any. */
  get model(): ModelInfo | undefined {
    return this.loadedModel;
  }

  async load(dir: string, options: LoadOptions & { onProgress?(message: string): void } = {}): Promise<ModelInfo> {
    const { onProgress, ...loadOptions } = options;
    this.loadedModel = undefined;
    const info = (await this.call({ kind: 'load', dir, options: loadOptions }, { onProgress })) as ModelInfo;
    this.loadedModel = info;
    return info;
  }

  /** One assistant turn. Aborting `signal` stops the loop within one step and resolves with what was generated. */
  async generate(request: GenerateRequest, options: { signal?: AbortSignal; onText?(text: string, tokens: number): void } = {}): Promise<GenerateResult> {
    const cancel = new SharedArrayBuffer(4);
    const flag = new Int32Array(cancel);
    const abort = () => Atomics.store(flag, 0, 1);
    if (options.signal?.aborted) abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      return (await this.call({ kind: 'generate', request, cancel }, { onText: options.onText })) as GenerateResult;
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
  }

  /** The exact prompt text and token ids the engine would feed for a conversation. */
  async renderPrompt(messages: ChatMessage[], tools?: ToolDefinition[]): Promise<RenderedPrompt> {
    return (await this.call({ kind: 'prompt', messages, tools })) as RenderedPrompt;
  }

  /** Forgets the cached conversation. */
  async reset(): Promise<void> {
    await this.call({ kind: 'reset' });
  }

  async dispose(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    try {
      if (this.loadedModel) await this.call({ kind: 'unload' });
    } finally {
      this.worker = undefined;
      this.loadedModel = undefined;
      await worker.terminate();
    }
  }

  private call(message: Request, handlers: Omit<Pending, 'resolve' | 'reject'> = {}): Promise<unknown> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...handlers });
      worker.ref(); // keep the process alive while a request is out
      worker.postMessage({ ...message, id } as HostMessage);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker();
    worker.on('message', (message: WorkerMessage) => this.onMessage(message));
    const fail = (reason: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.loadedModel = undefined;
      const error = new EngineError('internal', `The engine's worker thread stopped (${reason}). Load the model again.`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    worker.on('error', (e) => fail(e.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private onMessage(message: WorkerMessage): void {
    const p = this.pending.get(message.id);
    if (!p) return;
    switch (message.kind) {
      case 'progress': p.onProgress?.(message.message); break;
      case 'text': p.onText?.(message.text, message.tokens); break;
      case 'done': this.settle(message.id); p.resolve(message.value); break;
      case 'failed': this.settle(message.id); p.reject(EngineError.fromJSON(message.error)); break;
    }
  }

  private settle(id: number): void {
    this.pending.delete(id);
    // An idle worker must not keep a CLI or test process from exiting.
    if (this.pending.size === 0) this.worker?.unref();
  }
}
