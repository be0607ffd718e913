// Who gets the one model next. Interactive requests (chat, explain, refactor: someone is waiting for the answer)
// go first, in order of arrival; background requests (inline completions) run only when no interactive one waits.
// An interactive request arriving while a completion runs stops that completion at once (its cancel flag: the
// worker stops within one decode step), so a completion never delays a chat by more than one step. A newer
// completion supersedes an older one, queued or running: only the latest keystroke's answer is worth computing.
// Nothing is dropped silently: a job that never starts is ended through `drop`, with the cause. The waiting line of
// interactive jobs is bounded (a storm of requests is refused at once with a reason, instead of the last one waiting
// minutes); background ones need no bound, since each supersedes the one before.
// Pure logic, no worker and no timers: the engine supplies the jobs (engine.ts), the tests supply fakes.

export type Priority = 'interactive' | 'background';

/** Why a request ended cancelled: its caller asked, a newer completion replaced it, or an interactive one came. */
export type CancelCause = 'caller' | 'superseded' | 'preempted';

export interface Job {
  readonly priority: Priority;
  /** Runs the job; the scheduler learns it ended through `finished`. */
  start(): void;
  /** Asks the running job to stop soon (it still ends through `finished`). */
  stop(cause: CancelCause): void;
  /** Ends a job that never started. */
  drop(cause: CancelCause): void;
}

/** Interactive jobs that may wait behind the running one; one more is refused. */
export const MAX_WAITING_INTERACTIVE = 16;

export class Scheduler<J extends Job = Job> {
  private readonly waiting: J[] = [];
  private current: J | undefined;

  constructor(private readonly maxWaitingInteractive = MAX_WAITING_INTERACTIVE) {}

  /** Whether a job of this priority would be taken now (false: the interactive line is full). */
  accepts(priority: Priority): boolean {
    return priority === 'background' || this.waiting.filter((j) => j.priority === 'interactive').length < this.maxWaitingInteractive;
  }

  /** The job running now. */
  get running(): J | undefined {
    return this.current;
  }

  /** Jobs waiting to start, in the order they will start. */
  get queued(): readonly J[] {
    return [...this.waiting.filter((j) => j.priority === 'interactive'), ...this.waiting.filter((j) => j.priority === 'background')];
  }

  submit(job: J): void {
    if (job.priority === 'background') {
      for (const old of this.waiting.filter((j) => j.priority === 'background')) {
        this.remove(old);
        old.drop('superseded');
      }
      if (this.current?.priority === 'background') this.current.stop('superseded');
    } else if (this.current?.priority === 'background') {
      this.current.stop('preempted');
    }
    this.waiting.push(job);
    this.pump();
  }

  /** The caller gave up on `job`: a waiting job ends now; a running one is asked to stop. */
  cancel(job: J): void {
    if (this.remove(job)) job.drop('caller');
    else if (this.current === job) job.stop('caller');
  }

  /** `job` ended (result, cancel or error): the next one starts. */
  finished(job: J): void {
    if (this.current !== job) return;
    this.current = undefined;
    this.pump();
  }

  /** Forgets every job (the worker is gone): returns the waiting ones, for the caller to fail. */
  clear(): J[] {
    this.current = undefined;
    return this.waiting.splice(0);
  }

  private remove(job: J): boolean {
    const i = this.waiting.indexOf(job);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    return true;
  }

  private pump(): void {
    if (this.current) return;
    const next = this.waiting.find((j) => j.priority === 'interactive') ?? this.waiting.find((j) => j.priority === 'background');
    if (!next) return;
    this.remove(next);
    this.current = next;
    next.start();
  }
}
