// Tool calls in the stored conversation: steps saved with the answer, the turn's messages (calls, results, answer)
// sent back with later turns, old saved conversations still loading, and the consent messages from the webview
// checked before they are acted on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatMessage } from '../../sidecar/protocol';
import { historyOfTurn, SYSTEM_PROMPT, toModelMessages, type AssistantMessage, type Conversation, type ToolStep } from '../../extension/chat/conversation';
import { ConversationStore, MemoryConversationPersistence } from '../../extension/chat/conversationStore';
import { parseFromWebview } from '../../extension/chat/webviewProtocol';

function ids(): () => string {
  let n = 0;
  return () => `id${++n}`;
}

const turn: ChatMessage[] = [
  { role: 'assistant', content: '', toolCalls: [{ name: 'read_file', arguments: { path: 'a.py' } }] },
  { role: 'tool', content: 'a.py, lines 1-1 of 1:\n1| print(1)', name: 'read_file' },
  { role: 'assistant', content: 'The file prints 1.' },
];

const step: ToolStep = { id: 'call-1', name: 'read_file', arguments: '{"path": "a.py"}', state: 'running', offset: 0 };

describe('tool calls in conversations (TEST DOUBLE: in-memory persistence, MemoryConversationPersistence)', () => {
  it('stores the steps and the turn, and sends the turn back with the next question', async () => {
    const persistence = new MemoryConversationPersistence();
    const store = await ConversationStore.open(persistence, { newId: ids() });
    const { conversation, assistant } = store.startTurn(undefined, 'What does a.py do?');
    store.putStep(conversation.id, assistant.id, step);
    store.putStep(conversation.id, assistant.id, { ...step, state: 'done', result: '1| print(1)' });
    store.appendText(conversation.id, assistant.id, 'The file prints 1.');
    store.finishTurn(conversation.id, assistant.id, { state: 'done', turn });
    await store.flush();
    const saved = JSON.parse(persistence.saved.get(conversation.id)!) as Conversation;
    const answer = saved.messages[1] as AssistantMessage;
    assert.deepEqual(answer.steps, [{ ...step, state: 'done', result: '1| print(1)' }], 'one step, updated in place');
    assert.deepEqual(answer.turn, turn);

    const next = store.startTurn(conversation.id, 'And now?');
    const sent = toModelMessages(next.conversation.messages, next.conversation.messages.length - 1);
    assert.deepEqual(sent, [
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: 'What does a.py do?' },
      ...turn,
      { role: 'user', content: 'And now?' },
    ]);
  });

  it('a turn stopped during a call sends no unanswered call back', () => {
    assert.deepEqual(historyOfTurn([turn[0]]), []);
    assert.deepEqual(historyOfTurn([...turn.slice(0, 2), { role: 'assistant', content: '', toolCalls: [{ name: 'x', arguments: {} }] }]), turn.slice(0, 2));
    assert.deepEqual(historyOfTurn(turn), turn);
    // A stopped answer without a usable turn falls back to its text.
    const m: AssistantMessage = { id: 'a', role: 'assistant', content: 'Partial', state: 'cancelled', turn: [turn[0]], createdAt: 0 };
    assert.deepEqual(toModelMessages([m], 1, ''), [{ role: 'assistant', content: 'Partial' }]);
  });

  it('ends open steps when the turn ends, and Retry starts without steps or turn', async () => {
    const store = await ConversationStore.open(new MemoryConversationPersistence(), { newId: ids() });
    const { conversation, assistant } = store.startTurn(undefined, 'Edit a.py');
    store.putStep(conversation.id, assistant.id, { ...step, state: 'awaiting-consent' });
    const ended = store.finishTurn(conversation.id, assistant.id, { state: 'cancelled', turn });
    assert.equal(ended.steps![0].state, 'cancelled');
    const { assistant: again } = store.restartAnswer(conversation.id, assistant.id);
    assert.equal(again.steps, undefined);
    assert.equal(again.turn, undefined);
  });

  it('loads conversations saved before tools existed, and drops malformed tool parts', async () => {
    const persistence = new MemoryConversationPersistence();
    const old = {
      id: 'old', title: 'Old', createdAt: 1, updatedAt: 1,
      messages: [
        { id: 'u', role: 'user', content: 'Hi', context: [], createdAt: 1 },
        { id: 'a', role: 'assistant', content: 'Hello!', state: 'done', createdAt: 1 },
      ],
    };
    const broken = {
      id: 'broken', title: 'Broken', createdAt: 2, updatedAt: 2,
      messages: [
        { id: 'u', role: 'user', content: 'Hi', context: [], createdAt: 2 },
        { id: 'a', role: 'assistant', content: 'Hello!', state: 'done', createdAt: 2, steps: [{ id: 1 }], turn: 'nope' },
        { id: 'b', role: 'assistant', content: 'Reading…', state: 'streaming', createdAt: 2, steps: [{ ...step }] },
      ],
    };
    persistence.saved.set('old', JSON.stringify(old));
    persistence.saved.set('broken', JSON.stringify(broken));
    const savedIds: string[] = [];
    const save = persistence.save.bind(persistence);
    persistence.save = async (c) => { savedIds.push(c.id); await save(c); };
    const store = await ConversationStore.open(persistence);
    assert.deepEqual(store.get('old'), old);
    assert.deepEqual(toModelMessages(store.get('old')!.messages, 2, ''), [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }]);
    const [, a, b] = store.get('broken')!.messages as AssistantMessage[];
    assert.equal(a.content, 'Hello!');
    assert.equal(a.steps, undefined);
    assert.equal(a.turn, undefined);
    assert.equal(b.state, 'cancelled', 'interrupted by a reload');
    assert.equal(b.steps![0].state, 'cancelled');
    await store.flush();
    // The repair is saved: what the persistence now holds for 'broken' is the repaired conversation (the copy put
    // there above still had the malformed steps and turn and the streaming answer, so it would fail each check).
    assert.deepEqual(savedIds, ['broken'], 'only the repaired conversation is written back, once');
    const saved = JSON.parse(persistence.saved.get('broken')!) as Conversation;
    assert.deepEqual(saved, store.get('broken'));
    const [, savedA, savedB] = saved.messages as AssistantMessage[];
    assert.equal('steps' in savedA, false, 'malformed steps dropped on disk');
    assert.equal('turn' in savedA, false, 'malformed turn dropped on disk');
    assert.equal(savedB.state, 'cancelled');
    assert.deepEqual(savedB.steps, [{ ...step, state: 'cancelled' }]);
    assert.equal(persistence.saved.get('old'), JSON.stringify(old), 'the old conversation is left as it was');
  });

  it('accepts only well-formed consent answers from the webview', () => {
    assert.deepEqual(parseFromWebview({ type: 'consent', messageId: 'm', stepId: 's', choice: 'once' }), { type: 'consent', messageId: 'm', stepId: 's', choice: 'once' });
    assert.deepEqual(parseFromWebview({ type: 'consent', messageId: 'm', stepId: 's', choice: 'chat' })?.type, 'consent');
    assert.equal(parseFromWebview({ type: 'consent', messageId: 'm', stepId: 's', choice: 'always' }), undefined);
    assert.equal(parseFromWebview({ type: 'consent', stepId: 's', choice: 'deny' }), undefined);
    assert.deepEqual(parseFromWebview({ type: 'showDiff', messageId: 'm', stepId: 's' }), { type: 'showDiff', messageId: 'm', stepId: 's' });
  });
});
