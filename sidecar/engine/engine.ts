// The engine as the rest of the sidecar sees it: load a model folder, render prompts, generate with
// streaming and cancellation. The model itself lives in a worker thread (worker.ts). Requests wait in the
// scheduler (scheduler.ts), which lets a few interactive ones run at once (each in its own KV slot, their forward
// passes interleaved in the worker), completions only when no interactive one runs, and cache warm-ups only when
// nothing else does.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { InferenceEngine, LoadRequest } from '../inferenceEngine';
import type { CountTokensParams, CountTokensResult, KvCacheStatus } from '../protocol';
import { EngineError } from '../engineError';
import type { GenerateRequest, GenerateResult } from './generate';
import type { ChatMessage, ToolDefinition } from '../prompt/template';
import type { RenderedPrompt } from '../prompt/promptBuilder';
import { Scheduler, type CancelCause, type Job, type Priority } from './scheduler';
import { readModelFolder } from './modelFolder';
import { TokenCounter } from '../prompt/tokenCounter';
import type { HostMessage, LoadOptions, ModelInfo, WorkerMessage } from './workerProtocol';

export type { RenderedPrompt } from '../prompt/promptBuilder';
export type { LoadOptions, ModelInfo } from './workerProtocol';
export type { CancelCause, Priority } from './scheduler';

/** A generate result, and when it was cancelled, by whom (the caller, a newer completion, an interactive turn). */
export interface EngineResult extends GenerateResult {
  cancelCause?: CancelCause;
}

export interface GenerateOptions {
  signal?: AbortSignal;
  onText?(text: string, tokens: number): void;
  /** 'interactive' (default): someone waits for it. 'background': inline completions, see scheduler.ts. */
  priority?: Priority;
  /** Called when the request reaches the worker (after waiting behind others). */
  onStart?(): void;
}

/** Interactive requests that run at once (chat, Explain, VS Code's Chat…); more wait. */
export const MAX_RUNNING_INTERACTIVE = 3;



/** A host message before it gets its id. */
type Request = HostMessage extends infer M ? (M extends HostMessage ? Omit<M, 'id'> : never) : never;

interface EngineJob extends Job {
  id: number;
  exclusive: boolean;
  message: Request;
  resolve(value: unknown): void;
  reject(error: Error): void;
  onText?(text: string, tokens: number): void;
  onProgress?(message: string): void;
  cancelCause?: CancelCause;
}

/** The worker: dist/engineWorker.js when bundled; from sources (tests, tsx), worker.ts through tsx's loader. */
function startWorker(): Worker {
  if (!__filename.endsWith('.ts')) return new Worker(path.join(__dirname, 'engineWorker.js'));
  const source = path.join(__dirname, 'worker.ts');
  return new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(source)});`, { eval: true });
}

/** The result of a request that was cancelled before it reached the model. */
function notStarted(cause: CancelCause): EngineResult {
  return {
    text: '', tokenIds: [], finishReason: 'cancelled', cancelCause: cause, seed: 0,
    usage: { promptTokens: 0, reusedTokens: 0, completionTokens: 0 },
    timings: { timeToFirstTokenMs: 0, prefillMs: 0, prefillTokensPerSecond: 0, decodeMs: 0, decodeTokensPerSecond: 0, totalMs: 0 },
  };
}

/** How long after a load its prefill speed is measured: what the load's caller does next gets in first. */
const MEASURE_AFTER_LOAD_MS = 1000;

/** The local engine: ONNX Runtime in a worker thread of the sidecar. */
export class Engine implements InferenceEngine {
  private worker: Worker | undefined;
  private readonly counter = new TokenCounter();

  /**
   * `defaults`: load options every load gets (the composition root injects the prompt cache folder and the replay
   * test double this way). `maxRunningInteractive`: how many interactive requests run at once (1: one after another).
   */
  constructor(private readonly defaults: LoadOptions = {}, maxRunningInteractive = MAX_RUNNING_INTERACTIVE) {
    this.scheduler = new Scheduler<EngineJob>(undefined, maxRunningInteractive);
  }
  private readonly scheduler: Scheduler<EngineJob>;
  private nextId = 1;
  private loadedModel: ModelInfo | undefined;
  private cache: KvCacheStatus | undefined;
  /** Where the engine says what a user may want to know (a cache file rejected…); the server logs it. */
  onLog: (message: string) => void = () => {};
  /** The loaded model's info changed after its load (its prefill speed was measured); the server publishes it. */
  onModelChanged: (model: ModelInfo) => void = () => {};
  /** The prefill speed of the model loaded last, once measured (undefined: cancelled by an unload, or failed). */
  prefillMeasured: Promise<number | undefined> = Promise.resolve(undefined);

  /** What the KV cache slots hold now. */
  get cacheStatus(): KvCacheStatus | undefined {
    return this.cache;
  }

  /** The model that is loaded, if any. */
  get model(): ModelInfo | undefined {
    return this.loadedModel;
  }

  async load(request: LoadRequest & LoadOptions): Promise<ModelInfo> {
    const { dir, onProgress, ...options } = request;
    const loadOptions = { ...this.defaults, ...options };
    // A folder that is missing or broken is refused here, before the worker lets go of the model it holds.
    readModelFolder(dir);
    this.loadedModel = undefined;
    const info = (await this.call({ kind: 'load', dir, options: loadOptions }, { onProgress })) as ModelInfo;
    this.loadedModel = info;
    this.prefillMeasured = this.measurePrefill(info);
    return info;
  }

  /**
   * How fast this machine prefills (what the extension sizes inline completions by), measured after the load instead
   * of in it (a 64-token pass: ~2 s of Phi-4-mini on a 2-core CPU). A moment after the load, so that what its caller
   * asks next (the request that wanted the model, the prompt warm-ups) is queued first; at idle priority, so any
   * request stops it between its passes, and it is tried again when the model is idle. A warm-up that computed a
   * head timed such a pass already: then it costs nothing.
   */
  private async measurePrefill(info: ModelInfo): Promise<number | undefined> {
    await new Promise((go) => setTimeout(go, MEASURE_AFTER_LOAD_MS));
    try {
      while (this.loadedModel === info) {
        const flag = new Int32Array(new SharedArrayBuffer(4));
        const speed = await this.call({ kind: 'measure', cancel: flag.buffer as SharedArrayBuffer }, { priority: 'idle', flag });
        if (typeof speed !== 'number') continue; // stopped by a request: again, when idle
        if (this.loadedModel !== info) return undefined;
        if (speed > 0) {
          info.prefillTokensPerSecond = speed;
          this.onModelChanged(info);
        }
        return speed;
      }
    } catch (e) {
      if (this.loadedModel === info) this.onLog(`Could not measure the prefill speed: ${(e as Error).message}`);
    }
    return undefined;
  }

  /**
   * One assistant turn. Aborting `signal` stops the loop within one step (or, while the request still waits, at
   * once) and resolves with what was generated, finishReason 'cancelled'. A background request can also end
   * cancelled because a newer one or an interactive one came (`cancelCause` says which).
   */
  async generate(request: GenerateRequest, options: GenerateOptions = {}): Promise<EngineResult> {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    let job: EngineJob | undefined;
    const abort = () => {
      if (job) this.scheduler.cancel(job);
    };
    const priority = options.priority ?? 'interactive';
    const result = this.call({ kind: 'generate', request: { ...request, priority }, cancel: flag.buffer as SharedArrayBuffer }, {
      onText: options.onText,
      priority,
      flag,
      onStart: options.onStart,
      created: (j) => { job = j; },
    });
    if (options.signal?.aborted) abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      const value = (await result) as EngineResult;
      return job?.cancelCause && value.finishReason === 'cancelled' ? { ...value, cancelCause: job.cancelCause } : value;
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
  }

  /**
   * Computes the head of a kind of prompt ahead of need (its system messages and tools; read from disk when stored
   * there), at idle priority: any other request stops it. Resolves to where the head now is.
   */
  async warm(request: { slot: string; messages: ChatMessage[]; tools?: ToolDefinition[] }, signal?: AbortSignal): Promise<string> {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    let job: EngineJob | undefined;
    const abort = () => { if (job) this.scheduler.cancel(job); };
    const result = this.call({ kind: 'warm', request, cancel: flag.buffer as SharedArrayBuffer }, { priority: 'idle', flag, created: (j) => { job = j; } });
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const value = await result;
      return typeof value === 'string' ? value : 'cancelled';
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /** The exact prompt text and token ids the engine would feed for a conversation. */
  async renderPrompt(messages: ChatMessage[], tools?: ToolDefinition[]): Promise<RenderedPrompt> {
    return (await this.call({ kind: 'prompt', messages, tools })) as RenderedPrompt;
  }

  /**
   * Counted on this (the sidecar's main) thread, not in the worker: the worker runs one request at a time, so a count
   * would wait behind a whole answer, and VS Code's Chat counts many times while it builds a prompt. In pieces that
   * let status requests and cancels through (tokenCounter.ts).
   */
  async countTokens(params: CountTokensParams): Promise<CountTokensResult> {
    return this.counter.countAsync(this.loadedModel?.dir, params);
  }

  async dispose(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    try {
      if (this.loadedModel) await this.call({ kind: 'unload' });
    } finally {
      this.worker = undefined;
      this.loadedModel = undefined;
      this.failAll(new EngineError('internal', 'The engine was shut down.'));
      await worker.terminate();
    }
  }

  private call(
    message: Request,
    options: {
      onText?(text: string, tokens: number): void;
      onProgress?(message: string): void;
      priority?: Priority;
      /** The generate request's cancel flag, shared with the worker. */
      flag?: Int32Array;
      onStart?(): void;
      created?(job: EngineJob): void;
    } = {},
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const job: EngineJob = {
        id: this.nextId++,
        message,
        priority: options.priority ?? 'interactive',
        exclusive: message.kind === 'load' || message.kind === 'unload',
        resolve,
        reject,
        onText: options.onText,
        onProgress: options.onProgress,
        start: () => {
          try {
            const worker = this.ensureWorker();
            worker.ref(); // keep the process alive while a request is out
            options.onStart?.();
            worker.postMessage({ ...message, id: job.id } as HostMessage);
          } catch (e) {
            this.scheduler.finished(job);
            reject(e instanceof EngineError ? e : new EngineError('internal', (e as Error)?.message ?? String(e)));
          }
        },
        stop: (cause) => {
          job.cancelCause ??= cause;
          if (options.flag) Atomics.store(options.flag, 0, 1);
        },
        drop: (cause) => {
          job.cancelCause ??= cause;
          if (message.kind === 'generate') resolve(notStarted(cause));
          else if (message.kind === 'warm' || message.kind === 'measure') resolve('cancelled');
          else reject(new EngineError('internal', 'The request was cancelled before it started.'));
        },
      };
      options.created?.(job);
      if (!this.scheduler.accepts(job.priority)) {
        reject(new EngineError('busy', `Phi Local is busy: ${this.scheduler.queued.length} requests already wait for the model. ` +
          'Try again when an answer is done, or stop one.'));
        return;
      }
      this.scheduler.submit(job);
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
      this.failAll(new EngineError('internal', `The engine's worker thread stopped (${reason}). Load the model again.`));
    };
    worker.on('error', (e) => fail(e.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** Fails the running requests and every waiting one. */
  private failAll(error: Error): void {
    const running = [...this.scheduler.allRunning];
    for (const job of [...running, ...this.scheduler.clear()]) job.reject(error);
  }

  private onMessage(message: WorkerMessage): void {
    if (message.kind === 'cache') {
      this.cache = message.status;
      return;
    }
    if (message.kind === 'log') {
      this.onLog(message.message);
      return;
    }
    const job = this.scheduler.allRunning.find((j) => j.id === message.id);
    if (!job) return;
    switch (message.kind) {
      case 'progress': job.onProgress?.(message.message); break;
      case 'text': job.onText?.(message.text, message.tokens); break;
      case 'done': this.settle(job); job.resolve(message.value); break;
      case 'failed': this.settle(job); job.reject(EngineError.fromJSON(message.error)); break;
    }
  }

  private settle(job: EngineJob): void {
    this.scheduler.finished(job);
    // An idle worker must not keep a CLI or test process from exiting.
    if (!this.scheduler.running) this.worker?.unref();
  }
}
