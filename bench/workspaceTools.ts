// The chat panel's workspace tool definitions, outside VS Code: the registry's own (extension/tools/toolRegistry.ts
// createTools), loaded with a stand-in for the `vscode` module. The tool files import it at the top, but nothing of
// it runs while the definitions are built. For the benchmarks that need the prompt a real chat sends.
import Module from 'node:module';
import type { Tool } from '../extension/tools/toolTypes';
import type { ToolDefinition } from '../sidecar/protocol';

/** A `vscode` that answers every property with itself: enough for the tool modules to load. */
function vscodeStandIn(): unknown {
  const handler: ProxyHandler<any> = {
    get: (_t, key) => (key === Symbol.toPrimitive ? () => '' : key === 'then' ? undefined : proxy),
    apply: () => proxy,
    construct: () => proxy,
  };
  const proxy: any = new Proxy(function vscode() {}, handler);
  return proxy;
}

export function workspaceToolDefinitions(): ToolDefinition[] {
  const moduleWithLoad = Module as unknown as { _load(request: string, parent: unknown, isMain: boolean): unknown };
  const load = moduleWithLoad._load;
  moduleWithLoad._load = function (request, parent, isMain) {
    return request === 'vscode' ? vscodeStandIn() : load.call(this, request, parent, isMain);
  };
  try {
    const { createTools } = require('../extension/tools/toolRegistry') as { createTools(...args: unknown[]): Tool[] };
    return createTools({}, () => undefined).map((t) => t.definition);
  } finally {
    moduleWithLoad._load = load;
  }
}
