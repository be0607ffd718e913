// Who gets the model next. Interactive requests (chat, explain, refactor: someone is waiting for the answer) go
// first, in order of arrival, and up to `maxRunningInteractive` of them run at once (each in a KV slot of its own,
// their forward passes taking turns: forwardGate.ts), so Explain asked while a chat answer streams starts at once
// instead of after the whole answer. Background requests (inline completions) run only when no interactive one runs
// or waits; idle ones (warming prompt caches after a load) only when nothing else does. An interactive request
// arriving while a completion or a warm-up runs stops it at once (its cancel flag: the worker stops within one
// forward pass); a completion stops a warm-up. A newer completion supersedes an older one, queued or running: only
// the latest keystroke's answer is worth computing. Exclusive jobs (loading a model) run alone.
// Nothing is dropped silently: a job that never starts is ended through `drop`, with the cause. The waiting line of
// interactive jobs is bounded (a storm of requests is refused at once with a reason, instead of the last one waiting
// minutes); background ones need no bound, since each supersedes the one before.
// Pure logic, no worker and no timers: the engine supplies the jobs (engine.ts), the tests supply fakes.

export type Priority = 'interactive' | 'background' | 'idle';

/** Why a request ended cancelled: its caller asked, a newer completion replaced it, or an interactive one came. */
export type CancelCause = 'caller' | 'superseded' | 'preempted';

export interface Job {
  readonly priority: Priority;
  /** Runs alone: nothing else starts while it runs, and it starts only when nothing runs. */
  readonly exclusive?: boolean;
  /** Runs the job; the scheduler learns it ended through `finished`. */
  start(): void;
  /** Asks the running job to stop soon (it still ends through `finished`). */
  stop(cause: CancelCause): void;
  /** Ends a job that never started. */
  drop(cause: CancelCause): void;
}

/** Interactive jobs that may wait behind the running ones; one more is refused. */
export const MAX_WAITING_INTERACTIVE = 16;

const RANK: Record<Priority, number> = { interactive: 0, background: 1, idle: 2 };

export class Scheduler<J extends Job = Job> {
  private readonly waiting: J[] = [];
  private readonly runningJobs: J[] = [];

  constructor(
    private readonly maxWaitingInteractive = MAX_WAITING_INTERACTIVE,
    /** Interactive jobs that run at once. */
    private readonly maxRunningInteractive = 1,
  ) {}

  /** Whether a job of this priority would be taken now (false: the interactive line is full). */
  accepts(priority: Priority): boolean {
    return priority === 'background' || this.waiting.filter((j) => j.priority === 'interactive').length < this.maxWaitingInteractive;
  }

  /** The job running now (the first started, when several run). */
  get running(): J | undefined {
    return this.runningJobs[0];
  }

  /** Every job running now. */
  get allRunning(): readonly J[] {
    return this.runningJobs;
  }

  /** Jobs waiting to start, in the order they will start. */
  get queued(): readonly J[] {
    return [...this.waiting].sort((a, b) => RANK[a.priority] - RANK[b.priority]);
  }

  submit(job: J): void {
    if (job.priority === 'background') {
      for (const old of this.waiting.filter((j) => j.priority === 'background')) {
        this.remove(old);
        old.drop('superseded');
      }
      for (const running of this.runningJobs.filter((j) => j.priority === 'background')) running.stop('superseded');
    }
    // Whatever ranks below the newcomer and runs is stopped: it would hold the newcomer back.
    for (const running of this.runningJobs.filter((j) => RANK[j.priority] > RANK[job.priority])) running.stop('preempted');
    this.waiting.push(job);
    this.pump();
  }

  /** The caller gave up on `job`: a waiting job ends now; a running one is asked to stop. */
  cancel(job: J): void {
    if (this.remove(job)) job.drop('caller');
    else if (this.runningJobs.includes(job)) job.stop('caller');
  }

  /** `job` ended (result, cancel or error): the next ones start. */
  finished(job: J): void {
    const i = this.runningJobs.indexOf(job);
    if (i < 0) return;
    this.runningJobs.splice(i, 1);
    this.pump();
  }

  /** Forgets every job (the worker is gone): returns the waiting ones, for the caller to fail. */
  clear(): J[] {
    this.runningJobs.length = 0;
    return this.waiting.splice(0);
  }

  private remove(job: J): boolean {
    const i = this.waiting.indexOf(job);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    return true;
  }

  /** Starts what may start now, in the order of `queued`. */
  private pump(): void {
    for (const next of this.queued) {
      if (this.runningJobs.some((j) => j.exclusive)) return;
      const running = (p: Priority) => this.runningJobs.filter((j) => j.priority === p && !j.exclusive).length;
      let may: boolean;
      if (next.exclusive) may = this.runningJobs.length === 0;
      else if (next.priority === 'interactive') may = running('interactive') < this.maxRunningInteractive;
      else if (next.priority === 'background') may = running('interactive') === 0 && running('background') === 0;
      else may = this.runningJobs.length === 0;
      // Nothing overtakes a job that cannot start yet: an exclusive job or a lower rank would only be stopped again.
      if (!may) return;
      this.remove(next);
      this.runningJobs.push(next);
      next.start();
    }
  }
}
