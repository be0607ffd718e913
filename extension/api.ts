// What `activate()` returns: the extension's parts, for the extension-host tests (test/vscode/) and for other
// extensions that want to know whether the model is ready. `vscode.extensions.getExtension('phi-local.phi-local')
// .exports` after activation.
import type { PhiChatModelProvider } from './lm/phiChatModelProvider';
import type { ModelManager } from './model/modelManager';
import type { SidecarClient } from './sidecarClient';
import type { StatusView } from './status';

export interface PhiLocalApi {
  /** The sidecar process: its connection state, last reported status, and requests to it. */
  readonly sidecar: SidecarClient;
  /** Which model is loaded, loading it, and what "Select Model Folder" does with a folder (`useModelFolder`). */
  readonly models: ModelManager;
  /** What the status bar item shows now. */
  readonly statusBar: { readonly view: StatusView };
  /** Whether the UI is labelled as a demo (PHI_LOCAL_DEMO: a generated model with random weights). */
  readonly demo: boolean;
  /** Phi-4-mini as a model of VS Code's Chat (vendor phi-local); undefined where VS Code has no provider API (< 1.104). */
  readonly chatModelProvider?: PhiChatModelProvider;
}
