// A VS Code window's conversation store, as a process of its own, for conversationDurability.test.ts: it opens the
// store on a folder and adds turns to one conversation, printing "ready" once open and "saved N" once turn N's
// question is on disk. Killed mid-write by the test, or run as one of two windows at once.
//   node --import tsx conversationWriter.ts <dir> <conversation id> <tag> <turns> <question bytes> <compact slack bytes>
import { ConversationStore, FileConversationPersistence } from '../../extension/chat/conversationStore';

export function question(tag: string, n: number, bytes: number): string {
  const head = `${tag}-${n}:`;
  return head + 'q'.repeat(Math.max(0, bytes - head.length));
}

export function answer(tag: string, n: number): string {
  return `answer to ${tag}-${n}`;
}

async function main(): Promise<void> {
  const [dir, id, tag, turns, bytes, slack] = process.argv.slice(2);
  const store = await ConversationStore.open(new FileConversationPersistence(dir, () => {}, Number(slack)), {
    onError: (m) => process.stderr.write(`${m}\n`),
  });
  process.stdout.write('ready\n');
  for (let n = 1; n <= Number(turns); n++) {
    const { assistant } = store.startTurn(id, question(tag, n, Number(bytes)));
    await store.flush();
    process.stdout.write(`saved ${n}\n`);
    store.appendText(id, assistant.id, 'answer ');
    store.finishTurn(id, assistant.id, { state: 'done', content: answer(tag, n) });
    await store.flush();
  }
}

if (process.argv[1]?.endsWith('conversationWriter.ts')) void main();
