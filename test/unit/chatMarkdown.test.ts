// The chat's markdown → HTML: model output is untrusted, so nothing in it may execute or load. The same function the
// webview runs (media/markdown.ts), with DOMPurify on a jsdom window instead of the webview's. The browser check of
// the same cases is in the end-to-end tests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import createDOMPurify from 'dompurify';
import { JSDOM } from 'jsdom';
import { createMarkdownRenderer, escapeHtml, languageOf, PURIFY_CONFIG } from '../../media/markdown';
import { dangers } from '../fixtures/htmlDangers';

const { window } = new JSDOM('<!DOCTYPE html><html><body></body></html>');
const purify = createDOMPurify(window as unknown as Parameters<typeof createDOMPurify>[0]);
const render = createMarkdownRenderer(purify);

const ATTACKS: Record<string, string> = {
  'script block': '<script>alert(1)</script>',
  'script inline': 'Hello <script>alert(1)</script> there',
  'img onerror': 'Look: <img src=x onerror="alert(1)">',
  'svg onload': '<svg onload=alert(1)><circle r="4"/></svg>',
  'javascript: link': '[click me](javascript:alert(1))',
  'javascript: link with entities': '[click](jav&#x09;ascript:alert(1)) and [c2](JaVaScRiPt:alert(1))',
  'javascript: autolink': '<javascript:alert(1)>',
  'data: link': '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  'vscode command link': '[run](command:workbench.action.terminal.new)',
  'raw anchor': '<a href="javascript:alert(1)" onclick="alert(2)">x</a>',
  'raw html block': '<div style="position:fixed" onmouseover="alert(1)">\n<b>bold</b>\n</div>',
  'iframe': '<iframe src="https://example.com"></iframe>',
  'nested iframes': '<div><iframe srcdoc="<iframe srcdoc=&quot;<script>alert(1)</script>&quot;></iframe>"></iframe></div>',
  'markdown image': '![pixel](https://tracker.example/p.png)',
  'markdown image javascript': '![x](javascript:alert(1))',
  'form and button': '<form action="https://evil"><button formaction="javascript:alert(1)" class="apply">Apply</button></form>',
  'id clobbering': '<textarea id="prompt"></textarea><a id="send" name="send">x</a>',
  'style tag': '<style>body{display:none}</style>',
  'object/embed': '<object data="x.swf"></object><embed src="x.swf">',
  'meta refresh': '<meta http-equiv="refresh" content="0;url=https://evil">',
  'html in a link title': '[x](https://ok.example "\\"><script>alert(1)</script>")',
  'html in table': '| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | <script>1</script> |',
  'unclosed tag while streaming': 'Partial answer <img src=x onerror=alert(1',
};

describe('chat markdown rendering', () => {
  for (const [name, markdown] of Object.entries(ATTACKS)) {
    it(`renders ${name} inert`, () => {
      const html = render(markdown);
      assert.deepEqual(dangers(html), [], html);
    });
  }

  it('shows raw HTML as text, not markup', () => {
    const html = render('Use <b>bold</b> and <script>x()</script>');
    assert.match(html, /&lt;b&gt;bold&lt;\/b&gt;/);
    assert.match(html, /&lt;script&gt;x\(\)&lt;\/script&gt;/);
  });

  it('keeps ordinary markdown: headings, lists, emphasis, tables, web links', () => {
    const html = render('# Title\n\n- one\n- **two**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nSee [docs](https://example.com/docs?a=1&b=2) and `code`.');
    const doc = new JSDOM(html).window.document;
    assert.equal(doc.querySelector('h1')?.textContent, 'Title');
    assert.equal(doc.querySelectorAll('li').length, 2);
    assert.equal(doc.querySelector('strong')?.textContent, 'two');
    assert.equal(doc.querySelectorAll('td').length, 2);
    assert.equal(doc.querySelector('a')?.getAttribute('href'), 'https://example.com/docs?a=1&b=2');
    assert.equal(doc.querySelector('p code')?.textContent, 'code');
  });

  it('highlights fenced code and keeps its text and language', () => {
    const source = 'const a: number = 1; // <script>alert(1)</script>\nif (a < 2 && a > 0) {}';
    const html = render('```ts\n' + source + '\n```');
    const doc = new JSDOM(html).window.document;
    const code = doc.querySelector('pre > code')!;
    assert.ok(code.classList.contains('hljs'));
    assert.ok(code.classList.contains('language-ts'));
    assert.equal(code.textContent, source, 'highlighting must not change the text Copy/Insert/Apply use');
    assert.ok(code.querySelector('.hljs-keyword'), 'keywords are marked');
    assert.equal(doc.querySelectorAll('script').length, 0);
  });

  it('renders code in languages it does not highlight as plain escaped text', () => {
    const html = render('```brainfuck\n<+>.<script>\n```');
    const code = new JSDOM(html).window.document.querySelector('pre > code')!;
    assert.equal(code.textContent, '<+>.<script>\n'.trimEnd());
    assert.ok(code.classList.contains('language-brainfuck'));
    assert.equal(code.children.length, 0);
  });

  it('drops hostile fence info strings from the class', () => {
    const html = render('```ts" onmouseover="alert(1)\nx\n```');
    assert.deepEqual(dangers(html), []);
    assert.doesNotMatch(html, /onmouseover=/);
  });

  it('handles an unterminated fence while an answer streams', () => {
    const html = render('Here:\n\n```python\ndef f():\n    return 1');
    const code = new JSDOM(html).window.document.querySelector('pre > code')!;
    assert.match(code.textContent ?? '', /def f\(\):/);
  });

  it('the sanitiser settings alone strip what marked might let through', () => {
    const dirty = '<a href="javascript:alert(1)" onclick="x()">a</a><iframe src="https://x"></iframe><button class="apply">Apply</button><p style="color:red" id="send">t</p><img src=x onerror=y()>';
    const clean = purify.sanitize(dirty, { ...PURIFY_CONFIG, RETURN_TRUSTED_TYPE: false }) as string;
    assert.deepEqual(dangers(clean.replace(/<img[^>]*>/g, '')), []);
    assert.doesNotMatch(clean, /onerror|onclick|javascript:|iframe|button|style=|id=/);
  });

  it('languageOf and escapeHtml', () => {
    assert.equal(languageOf('ts'), 'ts');
    assert.equal(languageOf('Python extra'), 'python');
    assert.equal(languageOf('nope'), undefined);
    assert.equal(languageOf(undefined), undefined);
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
