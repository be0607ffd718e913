// The middle of a set of measurements (the mean of the two middle ones for an even count): what the benchmarks
// report, since one noisy run on a shared machine moves a mean but not a median.
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
