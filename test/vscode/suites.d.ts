// The virtual module build.mjs makes: every suite/*.test.ts by file name, each loaded on demand.
declare module 'phi-local-test-suites' {
  const suites: Record<string, () => unknown>;
  export default suites;
}
