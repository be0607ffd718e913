// XSS through the chat's real renderer (media/markdown.ts, the function the webview runs, with DOMPurify on a jsdom
// window): known payloads (script, event handlers, javascript:/data:/vscode command URLs, SVG and MathML, iframes
// and srcdoc, forms, styles, meta refresh, DOM clobbering, entity and case tricks, unclosed tags as a stream leaves
// them), each alone and spliced by a seeded generator into the markdown a model writes (code fences, links, tables,
// lists, quotes, headings), and rendered again at every prefix length the way a streamed answer is. Nothing in the
// HTML may run or load (test/fixtures/htmlDangers.ts); the webview's CSP is the second wall, checked in the e2e tests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import createDOMPurify from 'dompurify';
import { JSDOM } from 'jsdom';
import { createMarkdownRenderer } from '../../media/markdown';
import { dangers } from '../fixtures/htmlDangers';
import { Prng } from '../fixtures/prng';
import { reportFigure } from './figures';

const { window } = new JSDOM('<!DOCTYPE html><html><body></body></html>');
const render = createMarkdownRenderer(createDOMPurify(window as unknown as Parameters<typeof createDOMPurify>[0]));

const PAYLOADS = [
  '<script>alert(1)</script>', '<SCRIPT SRC=//x.example/x.js></SCRIPT>', '<img src=x onerror=alert(1)>', '<img/src/onerror=alert(1)>',
  '<svg onload=alert(1)>', '<svg><script>alert(1)</script></svg>', '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
  '<iframe src=javascript:alert(1)>', '<iframe srcdoc="<script>alert(1)</script>">', '<object data=javascript:alert(1)>', '<embed src=x.swf>',
  '<a href="javascript:alert(1)">x</a>', '<a href="JaVaScRiPt:alert(1)">x</a>', '<a href="jav&#x09;ascript:alert(1)">x</a>', '<a href=" javascript:alert(1)">x</a>',
  '[x](javascript:alert(1))', '[x](JAVASCRIPT:alert(1))', '[x](javascript&colon;alert(1))', '[x](data:text/html,<script>alert(1)</script>)',
  '[x](vbscript:msgbox(1))', '[x](command:workbench.action.terminal.new)', '[x](vscode://file/etc/passwd)', '<javascript:alert(1)>',
  '![x](javascript:alert(1))', '![x](https://tracker.example/p.png)', '<form action=//evil><input name=q><button>go</button></form>',
  '<button formaction=javascript:alert(1)>x</button>', '<input autofocus onfocus=alert(1)>', '<textarea id=prompt>x</textarea>',
  '<details open ontoggle=alert(1)>', '<body onload=alert(1)>', '<style>*{display:none}</style>', '<link rel=stylesheet href=//evil/x.css>',
  '<meta http-equiv=refresh content="0;url=//evil">', '<base href=//evil/>', '<div style="background:url(javascript:alert(1))">x</div>',
  '<a id=send name=send>x</a>', '<img src=x onerror=alert(1', '<scr<script>ipt>alert(1)</script>', '<!--<img src=x onerror=alert(1)>-->',
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>">', '<video><source onerror=alert(1)>', '<audio src=x onerror=alert(1)>',
  '<marquee onstart=alert(1)>', '<isindex action=javascript:alert(1) type=image>', '<xmp><img src=x onerror=alert(1)></xmp>',
  '"><img src=x onerror=alert(1)>', '\'><svg/onload=alert(1)>', '[a](https://ok.example "\\"><script>alert(1)</script>")',
  '`<img src=x onerror=alert(1)>`', '```html\n<script>alert(1)</script>\n```', '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
];

/** The markdown a model writes, each with a hole the payload goes into. */
const CONTEXTS = [
  (x: string) => x,
  (x: string) => `Here is the answer: ${x} and more.`,
  (x: string) => `# ${x}\n\nText.`,
  (x: string) => `- one\n- ${x}\n- three`,
  (x: string) => `> quoted ${x}`,
  (x: string) => `| a | b |\n|---|---|\n| ${x} | 2 |`,
  (x: string) => `See [the docs](${x}) for more.`,
  (x: string) => `[${x}](https://example.com)`,
  (x: string) => `\`\`\`js\nconst a = 1;\n\`\`\`\n${x}\n\`\`\`py\nx = 2\n\`\`\``,
  (x: string) => `**bold ${x}** _it_`,
  (x: string) => `1. ${x}\n   ${x}`,
];

test('hostile markdown renders inert: payloads alone, spliced into a model\'s markdown, and at every streamed prefix', () => {
  const prng = new Prng(15, 'xss');
  const pick = <T>(xs: readonly T[]) => xs[prng.nextUint32() % xs.length];
  const inputs: string[] = [];
  for (const p of PAYLOADS) for (const c of CONTEXTS) inputs.push(c(p));
  // Spliced: two payloads cut at random points and joined, inside a random context (what a confused model writes).
  for (let i = 0; i < 1000; i++) {
    const a = pick(PAYLOADS);
    const b = pick(PAYLOADS);
    const cut = (s: string) => s.slice(0, 1 + (prng.nextUint32() % s.length));
    inputs.push(pick(CONTEXTS)(cut(a) + cut(b) + b.slice(prng.nextUint32() % b.length)));
  }
  let tried = 0;
  const found: string[] = [];
  for (const markdown of inputs) {
    tried++;
    const bad = dangers(render(markdown));
    if (bad.length) found.push(`${JSON.stringify(markdown).slice(0, 80)}: ${bad.join(', ')}`);
  }
  // Streamed: the payloads alone, rendered at every prefix length, as the chat re-renders a growing answer.
  for (const p of PAYLOADS) {
    for (let n = 1; n <= p.length; n++) {
      tried++;
      const bad = dangers(render(`Answer: ${p.slice(0, n)}`));
      if (bad.length) found.push(`prefix ${JSON.stringify(p.slice(0, n))}: ${bad.join(', ')}`);
    }
  }
  reportFigure('XSS through the chat renderer', {
    tried, refused: tried - found.length, lost: found.length,
    note: `${PAYLOADS.length} payloads × ${CONTEXTS.length} contexts, 1,000 spliced, every streamed prefix`,
  });
  assert.deepEqual(found.slice(0, 10), []);
});
