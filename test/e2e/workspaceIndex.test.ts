// @workspace in a real VS Code (code-server, the packaged .vsix, the generated tiny model): the extension indexes the
// workspace in the background, a chat message starting with `@workspace` gets the best excerpts ahead of the
// question (the extension's log names them: the same list the prompt is built from), the answer shows a Sources
// list, and its link opens the file at the line the answer cited; a file written later is indexed and found.
// TEST DOUBLE: the model's answers are replayed (PHI_LOCAL_REPLAY, sidecar/engine/replay.ts): the tiny model's random
// weights never cite a file. Everything else is real: the index, the watcher, the chat, the sidecar, the engine loop.
// Screenshots go to test-results/e2e/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../fixtures/models';
import { Workbench } from './workbench';

const SHIPPING = [
  '// Shipping costs for an order.', // 1
  "import type { Order } from './order';",
  '',
  '/** Tax rates on shipping, by country. */',
  'const SHIPPING_TAX_RATES: Record<string, number> = {', // 5
  '  fr: 0.2,',
  '  de: 0.19,',
  '  it: 0.22,',
  '};',
  '', // 10
  "/** The tax on an order's shipping cost. */",
  'export function computeShippingTax(order: Order): number {', // 12
  '  const rate = SHIPPING_TAX_RATES[order.country] ?? 0;', // 13
  '  return Math.round(order.shippingCost * rate * 100) / 100;',
  '}', // 15
  '',
].join('\n');

const REPLIES = [
  'The shipping tax is computed by `computeShippingTax` in `src/shipping.ts:13`: the rate of the order\'s country times the shipping cost.',
  'The loyalty discount is applied in `src/discount.ts:2`.',
];

describe('@workspace in the chat (code-server, tiny model, replayed answer)', () => {
  let wb: Workbench;
  const scriptDir = fs.mkdtempSync(path.join(os.tmpdir(), 'phi-replay-'));

  before(async () => {
    const script = path.join(scriptDir, 'replies.json');
    fs.writeFileSync(script, JSON.stringify(REPLIES));
    wb = new Workbench('workspace', {
      env: { PHI_LOCAL_MODEL: ensureModel('tiny'), PHI_LOCAL_REPLAY: script },
      settings: {
        'phiLocal.executionProvider': 'cpu', 'phiLocal.threads': 2, 'phiLocal.temperature': 0, 'phiLocal.completions.enable': false,
        'phiLocal.tools.enabled': false,
      },
      files: {
        '.gitignore': 'build/\n',
        'src/shipping.ts': SHIPPING,
        'src/cart.ts': 'export class Cart {\n  items: { price: number }[] = [];\n  total(): number {\n    return this.items.reduce((s, i) => s + i.price, 0);\n  }\n}\n',
        'src/user.ts': 'export interface User {\n  id: string;\n  email: string;\n}\n',
        // Ignored by .gitignore: it would be the best match, so finding it in the context would show the rule broken.
        'build/shipping.js': 'function computeShippingTax(order) { return order.shippingCost * 0.2; } // shipping tax computed\n',
      },
    });
    await wb.start();
    await wb.command('Phi: Open Chat');
    await wb.chat().locator('textarea#prompt').waitFor({ timeout: 30_000 });
  });
  after(async () => {
    await wb?.stop();
    fs.rmSync(scriptDir, { recursive: true, force: true });
  });

  /** The "Phi Local" output channel, as the extension host wrote it to its log folder. */
  function phiLog(): string {
    const files = (fs.readdirSync(wb.root, { recursive: true }) as string[]).filter((f) => f.endsWith('Phi Local.log'));
    return files.map((f) => fs.readFileSync(path.join(wb.root, f), 'utf8')).join('\n');
  }

  async function waitForLog(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(phiLog());
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`the Phi Local log has no ${pattern}:\n${phiLog().slice(-3000)}`);
      await wb.page.waitForTimeout(250);
    }
  }

  const ask = (text: string) => wb.ask(text);

  const lastAnswer = () => wb.lastAnswer();

  it('puts the matching excerpt in the prompt, lists the Sources, and the link opens the file at the cited line', async () => {
    await waitForLog(/Workspace index: \d+ files, \d+ chunks/, 60_000);
    await ask('@workspace where is the shipping tax computed?');
    const context = (await waitForLog(/Chat: @workspace context \(\d+ ms\): (.*)\./, 60_000))[1];
    // The function's excerpt (lines 12-15) went into the prompt; the ignored build/ copy did not.
    assert.match(context, /(^|, )src\/shipping\.ts:12-15(,|$)/, context);
    assert.doesNotMatch(context, /build\//, context);
    try {
      await lastAnswer().and(wb.chat().locator('[data-state="done"]')).waitFor({ timeout: 120_000 });
    } catch (e) {
      await wb.screenshot('answer-missing');
      throw new Error(`${(e as Error).message}\nThe extension's log:\n${phiLog().slice(-3000)}`);
    }
    const sources = lastAnswer().locator('.sources');
    await sources.waitFor({ timeout: 10_000 });
    assert.match(await sources.locator('.sources-title').innerText(), /Sources/);
    // The cited excerpt first, opening at the cited line (13, inside the excerpt 12-15).
    const first = sources.locator('.source-link').first();
    assert.equal(await first.innerText(), 'src/shipping.ts:13 (computeShippingTax)');
    assert.match((await first.getAttribute('class')) ?? '', /\bcited\b/);
    await wb.screenshot('sources');

    await first.click();
    await wb.page.locator('.tabs-container .tab.active', { hasText: 'shipping.ts' }).waitFor({ timeout: 15_000 });
    const cursor = wb.page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ }).first();
    await cursor.filter({ hasText: 'Ln 13, Col 1' }).waitFor({ timeout: 10_000 }).catch(() => undefined);
    assert.match(await cursor.innerText(), /Ln 13, Col 1/, 'the cursor is at the cited line');
    await wb.page.locator('.editor-instance .monaco-editor .view-lines', { hasText: 'computeShippingTax' }).first().waitFor();
    await wb.screenshot('opened-at-line');
  });

  it('indexes a file written after the build, and finds it', async () => {
    fs.writeFileSync(path.join(wb.workspace, 'src', 'discount.ts'), '/** Loyal customers pay less. */\nexport function applyLoyaltyDiscount(total: number, years: number): number {\n  return years >= 3 ? total * 0.9 : total;\n}\n');
    await waitForLog(/Workspace index: updated [^\n]*src\/discount\.ts/, 30_000);
    const before = (phiLog().match(/Chat: @workspace context/g) ?? []).length;
    await ask('@workspace where is the loyalty discount applied?');
    const deadline = Date.now() + 60_000;
    while ((phiLog().match(/Chat: @workspace context/g) ?? []).length === before) {
      if (Date.now() > deadline) throw new Error(`no second @workspace context in the log:\n${phiLog().slice(-3000)}`);
      await wb.page.waitForTimeout(250);
    }
    const lines = phiLog().match(/Chat: @workspace context \(\d+ ms\): .*\./g) ?? [];
    assert.match(lines[lines.length - 1], /src\/discount\.ts:1-4/);
    await lastAnswer().and(wb.chat().locator('[data-state="done"]')).waitFor({ timeout: 120_000 });
    await lastAnswer().locator('.sources .source-link.cited', { hasText: 'src/discount.ts:2' }).waitFor({ timeout: 10_000 });
    await wb.screenshot('new-file-found');
  });
});
