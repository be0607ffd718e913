// Speed and time left of a download, over the last few seconds (so a stall shows at once and a burst does not
// promise too much). Pure: the clock is passed in.

export class TransferRate {
  private samples: { t: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 8000) {}

  /** Records that `totalFetched` bytes have arrived by time `t` (ms). */
  add(t: number, totalFetched: number): void {
    this.samples.push({ t, bytes: totalFetched });
    while (this.samples.length > 2 && t - this.samples[1].t >= this.windowMs) this.samples.shift();
  }

  /** Bytes per second over the window; 0 until there are two samples. */
  get bytesPerSecond(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const seconds = (last.t - first.t) / 1000;
    return seconds > 0 ? Math.max(0, (last.bytes - first.bytes) / seconds) : 0;
  }

  /** Seconds left for `remaining` bytes at the current speed; undefined while the speed is unknown. */
  secondsLeft(remaining: number): number | undefined {
    const rate = this.bytesPerSecond;
    return rate > 0 ? remaining / rate : undefined;
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
