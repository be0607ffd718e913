// The composition root: activate() builds the parts and wires them to VS Code; each part lives in its own file.
// The extension activates once the window has started (onStartupFinished), so that its status bar item and its
// model in VS Code's Chat are there before first use; activation is cheap: it only registers its parts, the sidecar
// process starts the first time something needs it, and the model loads when the chat opens or a turn needs it.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PhiLocalApi } from './api';
import { ChatController } from './chat/chatController';
import { CHAT_VIEW_ID, ChatViewProvider } from './chat/chatViewProvider';
import { CodeBlockActions } from './chat/codeBlockActions';
import { ConversationStore, FileConversationPersistence } from './chat/conversationStore';
import { EditorContext } from './chat/editorContext';
import { registerPhiChatModelProvider } from './lm/phiChatModelProvider';
import { deleteConversation, HISTORY_VIEW_ID, HistoryProvider } from './chat/historyView';
import type { ConversationSummary } from './chat/conversationStore';
import { ModelManager } from './model/modelManager';
import { runDoctor } from './doctor/doctor';
import { ModelDownloader, modelsRoot, type DownloadCommandArgs } from './model/downloadCommand';
import { manageModels } from './model/manageModels';
import { isDemo } from './modelPath';
import { ENGINE_SETTINGS, setDownloadedModelsRoot } from './config';
import { EngineLaunch } from './engineLaunch';
import { registerEditorFeatures } from './inline/editorFeatures';
import { pickRemoteModel } from './remoteModelPicker';
import { ServeEndpoint } from './serveEndpoint';
import { PromptWarmer } from './promptWarmer';
import { SYSTEM_PROMPT } from './chat/conversation';
import { REFACTOR_SYSTEM_PROMPT } from './refactor/refactorActions';
import { SidecarClient } from './sidecarClient';
import { showMenu, StatusBar } from './status';
import { ToolRunner } from './tools/toolRunner';
import { InstructionsReader, setInstructionsReader } from './instructions/instructionsReader';
import { WorkspaceIndexService } from './workspaceIndex/indexService';
import { registerTerminalFeatures } from './terminal/terminalCommands';

let running: { sidecar: SidecarClient; store: ConversationStore } | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<PhiLocalApi> {
  const log = vscode.window.createOutputChannel('Phi Local', { log: true });
  context.subscriptions.push(log);
  const demo = isDemo();

  const engine = new EngineLaunch(context, log);
  const sidecar = new SidecarClient(context.asAbsolutePath(path.join('dist', 'sidecar.js')), log, {}, () => engine.resolve());
  // Before anything reads phiLocal.modelPath: it may name a downloaded model by its id.
  setDownloadedModelsRoot(modelsRoot(context));
  const models = new ModelManager(sidecar, log);
  const downloader = new ModelDownloader(context, sidecar, models, log);
  const store = await ConversationStore.open(
    new FileConversationPersistence(path.join(context.globalStorageUri.fsPath, 'conversations'), (m) => log.warn(m)),
    { onError: (m) => log.error(m) },
  );
  running = { sidecar, store };
  const editors = new EditorContext();
  const actions = new CodeBlockActions(editors, log);
  const tools = new ToolRunner(log, () => editors.targetEditor);
  const instructions = new InstructionsReader(log);
  setInstructionsReader(instructions);
  const workspaceIndex = new WorkspaceIndexService(log); // @workspace in the chat: the local index of the workspace
  context.subscriptions.push(workspaceIndex);
  const controller = new ChatController(store, sidecar, models, editors, actions, log, context.workspaceState, demo, tools, instructions, workspaceIndex);
  const chatView = new ChatViewProvider(context.extensionUri, controller);
  const history = new HistoryProvider(store);
  const statusBar = new StatusBar(sidecar, models, demo);
  const endpoint = new ServeEndpoint(sidecar, models, log);
  // The prompts' heads computed after each load, ahead of the first chat, Explain or refactor (the sidecar keeps them).
  const warmer = new PromptWarmer(sidecar, models, async () => [
    await controller.newChatHead(),
    { feature: 'explain', messages: [{ role: 'system', content: SYSTEM_PROMPT }] },
    { feature: 'refactor', messages: [{ role: 'system', content: REFACTOR_SYSTEM_PROMPT }] },
  ], log);
  context.subscriptions.push(
    sidecar, models, editors, actions, tools, instructions, controller, history, endpoint, warmer,
    { dispose: () => setInstructionsReader(undefined) },
    { dispose: () => void store.flush() },
    statusBar,
    vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, chatView),
    vscode.window.createTreeView(HISTORY_VIEW_ID, { treeDataProvider: history, showCollapseAll: false }),
  );

  // Another engine (phiLocal.engine, phiLocal.remote.*): a sidecar that runs starts again with it, and the model
  // manager loads the model there (onDidStart afterRestart); one that does not run starts with it when needed.
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => {
    if (!ENGINE_SETTINGS.some((k) => e.affectsConfiguration(`phiLocal.${k}`)) || sidecar.state !== 'running') return;
    log.info('The engine settings changed: restarting the sidecar.');
    void sidecar.restart().catch((err: Error) => log.error(`The sidecar did not start: ${err.message}`));
  }));

  // VS Code's own Chat (1.104 and later): Phi-4-mini as one of its models.
  const chatModel = registerPhiChatModelProvider(sidecar, models, log);
  if (chatModel) context.subscriptions.push(chatModel.disposable);

  const openChat = () => chatView.reveal();
  const commands: Record<string, (...args: never[]) => unknown> = {
    'phiLocal.openChat': openChat,
    'phiLocal.newChat': async () => {
      await openChat();
      controller.newChat();
    },
    'phiLocal.selectModelFolder': () => models.selectModelFolder(),
    'phiLocal.downloadModel': (args?: DownloadCommandArgs) => downloader.run(typeof args === 'object' && args ? args : {}),
    'phiLocal.manageModels': () => manageModels(models, modelsRoot(context), log),
    'phiLocal.doctor': () => runDoctor(context, sidecar, models, log),
    'phiLocal.restartSidecar': () => vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Restarting the Phi sidecar' },
      () => sidecar.restart().catch((e: Error) => {
        void vscode.window.showErrorMessage(`Phi Local: the sidecar did not start: ${e.message}`, 'Show Logs').then((c) => { if (c) log.show(true); });
      }),
    ),
    'phiLocal.showLogs': () => log.show(true),
    'phiLocal.setRemoteApiKey': async () => {
      if (await engine.setApiKey() && engine.settings().engine === 'remote' && sidecar.state === 'running') await sidecar.restart();
    },
    'phiLocal.pickRemoteModel': () => pickRemoteModel(context, log),
    'phiLocal.downloadTokenizer': async () => {
      if (await downloader.downloadTokenizer() && engine.settings().engine === 'remote' && sidecar.state === 'running') await sidecar.restart();
    },
    'phiLocal.startServer': () => endpoint.start(),
    'phiLocal.stopServer': () => endpoint.stop(),
    'phiLocal.stop': () => controller.stop(),
    'phiLocal.chooseTools': () => controller.chooseTools(),
    'phiLocal.showMenu': () => showMenu(controller.generating),
    'phiLocal.openConversation': async (id: string) => {
      if (typeof id !== 'string') return;
      await openChat();
      controller.openConversation(id);
    },
    'phiLocal.deleteConversation': (item: ConversationSummary | string) => {
      const id = typeof item === 'string' ? item : item?.id;
      if (typeof id === 'string') return deleteConversation(store, id);
    },
  };
  for (const [id, run] of Object.entries(commands)) context.subscriptions.push(vscode.commands.registerCommand(id, run));
  registerEditorFeatures(context, sidecar, models, log, async (conversation) => {
    store.restore(conversation);
    await openChat();
    controller.openConversation(conversation.id);
  });
  registerTerminalFeatures(context, sidecar, models, log, { chat: controller, editors, openChat });

  void vscode.commands.executeCommand('setContext', 'phiLocal.generating', false);
  log.info(`Phi Local activated${demo ? ' (demo model)' : ''}. The sidecar starts when the chat first needs it.`);
  return { sidecar, models, statusBar, demo, chatModelProvider: chatModel?.provider };
}

export async function deactivate(): Promise<void> {
  const r = running;
  running = undefined;
  if (!r) return;
  await Promise.all([r.store.flush(), r.sidecar.stop()]);
}
