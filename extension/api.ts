// What `activate()` returns (`vscode.extensions.getExtension('phi-local.phi-local').exports`): the test surface of
// the extension-host tests (test/vscode/), not an API for other extensions. Each part is narrowed to what those tests
// use; they are the live objects, not copies, because the tests wrap methods on them (sidecar.chat, loadModel) to
// record or fail requests. A member the tests stop using should go from here.
import type { PhiChatModelProvider } from './lm/phiChatModelProvider';
import type { ModelManager } from './model/modelManager';
import type { SidecarClient } from './sidecarClient';
import type { StatusView } from './status';

export interface PhiLocalApi {
  /** The sidecar process: its state and last status, crashes, and the requests the tests send or wrap. */
  readonly sidecar: Pick<SidecarClient, 'state' | 'lastStatus' | 'onDidChange' | 'onDidCrash' | 'start' | 'chat' | 'loadModel'>;
  /**
   * Which model is loaded, loading it, what "Select Model Folder" does with a folder (`useModelFolder`), and the
   * prefill speed the sidecar announced after the load.
   */
  readonly models: Pick<ModelManager, 'phase' | 'onDidChange' | 'ensureLoaded' | 'useModelFolder' | 'prefillTokensPerSecond'>;
  /** What the status bar item shows now. */
  readonly statusBar: { readonly view: StatusView };
  /** Whether the UI is labelled as a demo (PHI_LOCAL_DEMO: a generated model with random weights). */
  readonly demo: boolean;
  /** Phi-4-mini as a model of VS Code's Chat (vendor phi-local); undefined where VS Code has no provider API (< 1.104). */
  readonly chatModelProvider?: Pick<PhiChatModelProvider, 'information'>;
}
