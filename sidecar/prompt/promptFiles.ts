// The files a Phi-4 prompt is made from: tokenizer.json, tokenizer_config.json and the chat template (in the config,
// or chat_template.jinja beside it). A few MB: the local engine reads them from its model folder, the remote engine
// from any folder that has them (the model folder, or the tokenizer files alone), to render the same tokens.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../engineError';

export interface PromptFiles {
  tokenizerJson: any;
  tokenizerConfig: Record<string, unknown>;
  chatTemplate: string;
}

/** A file of the folder is missing or broken: the error names it. */
export function folderError(file: string, problem: string): EngineError {
  return new EngineError('model-folder', `${file} ${problem}`, file);
}

/** A JSON file of the folder, parsed; a missing one is undefined unless `required`. */
export function readJson(dir: string, file: string, required: true): any;
export function readJson(dir: string, file: string, required: false): any | undefined;
export function readJson(dir: string, file: string, required: boolean): any {
  const full = path.join(dir, file);
  let text: string;
  try {
    text = fs.readFileSync(full, 'utf8');
  } catch {
    if (!required) return undefined;
    throw folderError(file, `is missing from the model folder ${dir}.`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw folderError(file, `is not valid JSON (${(e as Error).message}). Download or copy it again.`);
  }
}

function readChatTemplate(dir: string, tokenizerConfig: any): string {
  const t = tokenizerConfig.chat_template;
  if (typeof t === 'string' && t.length > 0) return t;
  // Newer exports keep the template in its own file.
  const jinja = path.join(dir, 'chat_template.jinja');
  if (fs.existsSync(jinja)) return fs.readFileSync(jinja, 'utf8');
  if (Array.isArray(t)) {
    const named = t.find((x: any) => x?.name === 'default') ?? t[0];
    if (typeof named?.template === 'string') return named.template;
  }
  throw folderError('tokenizer_config.json', 'has no `chat_template` (and there is no chat_template.jinja).');
}

/** The prompt files of `dir`; an EngineError naming the file that is missing or broken. */
export function readPromptFiles(dir: string): PromptFiles {
  const tokenizerJson = readJson(dir, 'tokenizer.json', true);
  if (typeof tokenizerJson?.model !== 'object') throw folderError('tokenizer.json', 'has no `model` section.');
  const tokenizerConfig = readJson(dir, 'tokenizer_config.json', true);
  return { tokenizerJson, tokenizerConfig, chatTemplate: readChatTemplate(dir, tokenizerConfig) };
}
