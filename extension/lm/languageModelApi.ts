// The part of VS Code's language-model provider API (`vscode.lm.registerLanguageModelChatProvider`, finalized in
// VS Code 1.104) that Phi Local uses, declared here because the extension is built against @types/vscode 1.100
// (engines.vscode ^1.100.0, the oldest VS Code we test), which does not have it. The shapes are copied from
// @types/vscode 1.138; nothing here is used unless `chatProviderApi()` finds the function at runtime.
import * as vscode from 'vscode';

/** A model as VS Code's model picker and `vscode.lm.selectChatModels` see it. */
export interface LanguageModelChatInformation {
  readonly id: string;
  readonly name: string;
  readonly family: string;
  readonly tooltip?: string;
  readonly detail?: string;
  readonly version: string;
  readonly maxInputTokens: number;
  readonly maxOutputTokens: number;
  readonly capabilities: { readonly imageInput?: boolean; readonly toolCalling?: boolean | number };
  /** Not in the finalized type, but VS Code reads it: the model is offered in the Chat view's model picker. */
  readonly isUserSelectable?: boolean;
}

export interface PrepareLanguageModelChatModelOptions {
  /** True: resolve without asking the user anything. */
  readonly silent: boolean;
}

/** The provider's view of a request message: parts are text, tool calls, tool results, data, or newer kinds. */
export interface LanguageModelChatRequestMessage {
  /** 1 user, 2 assistant; VS Code's Chat also sends 3 (system, still a proposed API). */
  readonly role: number;
  readonly content: ReadonlyArray<unknown>;
  readonly name: string | undefined;
}

export interface ProvideLanguageModelChatResponseOptions {
  readonly modelOptions?: { readonly [name: string]: unknown };
  readonly tools?: readonly vscode.LanguageModelChatTool[];
  readonly toolMode: vscode.LanguageModelChatToolMode;
}

export type LanguageModelResponsePart = vscode.LanguageModelTextPart | vscode.LanguageModelToolCallPart;

export interface LanguageModelChatProvider<T extends LanguageModelChatInformation = LanguageModelChatInformation> {
  readonly onDidChangeLanguageModelChatInformation?: vscode.Event<void>;
  provideLanguageModelChatInformation(options: PrepareLanguageModelChatModelOptions, token: vscode.CancellationToken): vscode.ProviderResult<T[]>;
  provideLanguageModelChatResponse(
    model: T,
    messages: readonly LanguageModelChatRequestMessage[],
    options: ProvideLanguageModelChatResponseOptions,
    progress: vscode.Progress<LanguageModelResponsePart>,
    token: vscode.CancellationToken,
  ): Thenable<void>;
  provideTokenCount(model: T, text: string | LanguageModelChatRequestMessage, token: vscode.CancellationToken): Thenable<number>;
}

type Register = (vendor: string, provider: LanguageModelChatProvider) => vscode.Disposable;

/** `vscode.lm.registerLanguageModelChatProvider` where this VS Code has it (1.104 and later), else undefined. */
export function chatProviderApi(): { registerLanguageModelChatProvider: Register } | undefined {
  const lm = (vscode as { lm?: { registerLanguageModelChatProvider?: Register } }).lm;
  const register = lm?.registerLanguageModelChatProvider;
  return typeof register === 'function' ? { registerLanguageModelChatProvider: register.bind(lm) } : undefined;
}
