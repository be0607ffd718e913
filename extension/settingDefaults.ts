// The default of every `phiLocal.*` setting: the one home of these values. config.ts falls back to them, and a unit
// test (test/unit/settings.test.ts) holds package.json's `default`s to them. No `vscode` import, so that test can load it.
export const SETTING_DEFAULTS = {
  'engine': 'local',
  'remote.url': '',
  'remote.model': '',
  'remote.api': 'auto',
  'serve.port': 8000,
  'modelPath': '',
  'executionProvider': 'auto',
  // 0: the engine's default (the model's context, ONNX Runtime's thread count).
  'contextLength': 0,
  'threads': 0,
  // MiB for the KV caches of all features together: 1.5 GiB beside a ~3 GB model fits an 8 GB laptop (0: no bound).
  'kvCacheMemory': 1536,
  'maxNewTokens': 1024,
  'temperature': 0,
  'topP': 1,
  'tools.enabled': true,
  'tools.toolChoice': 'auto',
  'tools.maxCallsPerTurn': 5,
  'download.endpoint': 'https://huggingface.co',
  'trace.server': 'off',
  'completions.enable': { '*': true, plaintext: false, markdown: false, scminput: false } as Record<string, boolean>,
  'completions.debounceMs': 300,
  'completions.timeoutMs': 4000,
  'explain.codeLens': true,
  'instructions.enabled': true,
  'workspaceIndex.enabled': true,
};

export type SettingName = keyof typeof SETTING_DEFAULTS;
