// What phi/status answers and phi/statusChanged announces: the model's state, the turn being generated and how many
// wait. The services write it; it tells the client, at once for a state change and about twice a second for speed.
import type { Connection } from 'vscode-languageserver/node';
import { StatusNotification, type KvCacheStatus, type SidecarStatus } from './protocol';

const SPEED_EVERY_MS = 500;

export class StatusBoard {
  readonly status: Omit<SidecarStatus, 'pid' | 'rssBytes'> = { state: 'no-model', queued: 0 };
  private lastSpeed = 0;

  constructor(private readonly connection: Connection, private readonly kvCache: () => KvCacheStatus | undefined = () => undefined) {}

  snapshot(): SidecarStatus {
    const kvCache = this.kvCache();
    return { ...this.status, pid: process.pid, rssBytes: process.memoryUsage().rss, ...(kvCache ? { kvCache } : {}) };
  }

  publish(): void {
    void this.connection.sendNotification(StatusNotification, this.snapshot());
  }

  /** The running turn's speed; announced at most about twice a second. */
  generating(tokens: number, startedAt: number): void {
    const now = performance.now();
    this.status.generating = { tokens, tokensPerSecond: tokens > 1 ? ((tokens - 1) * 1000) / (now - startedAt) : 0 };
    if (now - this.lastSpeed > SPEED_EVERY_MS) {
      this.lastSpeed = now;
      this.publish();
    }
  }
}
