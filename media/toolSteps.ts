/// <reference lib="dom" />
// A tool call in an answer: one line (tool, target, state) that expands to its arguments and result, and the
// consent card while it waits. The card is drawn from what the extension sends (ConsentCardView): title, detail,
// a command line if any, the answers and their hints, Show diff if there is a diff. No tool is known here.
import type { ConsentCardView, ConsentChoice, ToolStepView } from '../extension/chat/webviewProtocol';
import { button, el, type Post } from './dom';

const STEP_STATE_LABELS: Record<ToolStepView['state'], string> = {
  running: 'running…',
  'awaiting-consent': 'waiting for your answer',
  done: 'done',
  error: 'failed',
  denied: 'denied',
  cancelled: 'stopped',
};

const stepKey = (messageId: string, stepId: string) => `${messageId}\u0000${stepId}`;

/** The steps of each answer shown, and which the user expanded (kept open across re-renders). */
export class ToolSteps {
  private readonly stepsOf = new Map<string, ToolStepView[]>();
  private readonly expanded = new Set<string>();

  constructor(messagesEl: HTMLElement, post: Post) {
    messagesEl.addEventListener('click', (e) => {
      const target = (e.target as HTMLElement).closest('button');
      const step = target?.closest<HTMLElement>('.tool-step');
      const messageId = step?.closest<HTMLElement>('.message')?.dataset.id;
      const stepId = step?.dataset.id;
      if (!target || !step || !messageId || !stepId) return;
      if (target.dataset.choice) {
        // Answered once: the buttons go quiet until the extension closes the card.
        for (const b of Array.from(step.querySelectorAll<HTMLButtonElement>('.consent-card button'))) b.disabled = true;
        post({ type: 'consent', messageId, stepId, choice: target.dataset.choice as ConsentChoice });
      } else if (target.classList.contains('show-diff')) {
        post({ type: 'showDiff', messageId, stepId });
      }
    });
    // <details> toggles do not bubble: listen in the capture phase to remember which steps are open.
    messagesEl.addEventListener('toggle', (e) => {
      const details = e.target as HTMLElement;
      if (!(details instanceof HTMLDetailsElement)) return;
      const step = details.closest<HTMLElement>('.tool-step');
      const messageId = step?.closest<HTMLElement>('.message')?.dataset.id;
      if (!step?.dataset.id || !messageId) return;
      const key = stepKey(messageId, step.dataset.id);
      if (details.open) this.expanded.add(key);
      else this.expanded.delete(key);
    }, true);
  }

  of(messageId: string): ToolStepView[] {
    return this.stepsOf.get(messageId) ?? [];
  }

  set(messageId: string, steps: ToolStepView[]): void {
    this.stepsOf.set(messageId, steps);
  }

  /** A step began or changed. */
  put(messageId: string, step: ToolStepView): void {
    const steps = this.of(messageId);
    const at = steps.findIndex((s) => s.id === step.id);
    if (at >= 0) steps[at] = step;
    else steps.push(step);
    this.stepsOf.set(messageId, steps);
  }

  clear(): void {
    this.stepsOf.clear();
  }

  /** A step of this answer is running or waiting for the user. */
  busy(messageId: string): boolean {
    return this.of(messageId).some((s) => s.state === 'running' || s.state === 'awaiting-consent');
  }

  render(messageId: string, step: ToolStepView): HTMLElement {
    const root = el('div', 'tool-step');
    root.dataset.id = step.id;
    root.dataset.tool = step.name;
    root.dataset.state = step.state;
    const details = el('details');
    details.open = this.expanded.has(stepKey(messageId, step.id));
    const summary = el('summary');
    summary.append(el('span', 'tool-icon', '⚙'), el('span', 'tool-name', step.name));
    if (step.target) summary.append(el('span', 'tool-target', step.target));
    summary.append(el('span', 'tool-state', STEP_STATE_LABELS[step.state]));
    details.append(summary, el('div', 'tool-label', 'Arguments'), el('pre', 'tool-args', step.arguments));
    if (step.result !== undefined) details.append(el('div', 'tool-label', 'Result'), el('pre', 'tool-result', step.result));
    root.append(details);
    if (step.consent) root.append(renderConsent(step.id, step.consent));
    return root;
  }
}

/** The question a call asks, as the extension worded it for its kind. */
function renderConsent(stepId: string, consent: ConsentCardView): HTMLElement {
  const card = el('div', 'consent-card');
  card.dataset.kind = consent.kind;
  card.setAttribute('role', 'group');
  card.tabIndex = -1;
  const title = el('div', 'consent-title', consent.title);
  title.id = `consent-title-${stepId}`;
  card.setAttribute('aria-labelledby', title.id);
  card.append(title, el('div', 'consent-detail', consent.detail));
  if (consent.code !== undefined) card.append(el('pre', 'consent-code', consent.code));
  const actions = el('div', 'consent-actions');
  for (const c of consent.choices) {
    const b = button(`consent consent-${c.choice}`, c.label, c.hint);
    b.dataset.choice = c.choice;
    actions.append(b);
  }
  if (consent.showDiff) actions.append(button('show-diff', 'Show diff', 'Open the diff of this change again'));
  card.append(actions);
  return card;
}
