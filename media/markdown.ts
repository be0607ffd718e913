// Markdown of a model answer → sanitised HTML. Model output is untrusted: raw HTML in it is shown as text (never
// parsed), and the HTML that marked produces then goes through DOMPurify, which drops scripts, event handlers,
// javascript: URLs, iframes and the like. Code blocks are highlighted with highlight.js (core plus a handful of
// common languages, to keep the webview bundle small). The sanitiser is passed in: DOMPurify on the webview's
// window in the browser, on a jsdom window in the unit tests.
import type { Config, DOMPurify } from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import csharp from 'highlight.js/lib/languages/csharp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import shell from 'highlight.js/lib/languages/shell';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { Marked, type Token, type Tokens } from 'marked';

const LANGUAGES = { bash, c, cpp, csharp, css, diff, go, java, javascript, json, markdown, python, rust, shell, sql, typescript, xml, yaml };
for (const [name, language] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, language);
hljs.registerAliases(['sh', 'zsh', 'console'], { languageName: 'bash' });
hljs.registerAliases(['jsonc'], { languageName: 'json' });
hljs.registerAliases(['typescriptreact'], { languageName: 'typescript' });
hljs.registerAliases(['javascriptreact'], { languageName: 'javascript' });

/** What DOMPurify may keep: ordinary document markup. No forms, frames, embeds, styles, ids or names. */
export const PURIFY_CONFIG: Config = {
  // Only what the markdown renderer itself writes. Raw HTML in an answer is escaped by the renderer, but marked passes
  // some through as text (an unclosed tag in a list item: `<audio src=x …` came out as a live <audio> element, found
  // by the hardening suite's XSS check), so the sanitiser allows the markdown vocabulary and nothing else.
  ALLOWED_TAGS: [
    'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'blockquote', 'pre', 'code', 'span', 'em',
    'strong', 'del', 's', 'a', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  ],
  ALLOWED_ATTR: ['href', 'title', 'class', 'start', 'align'],
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'option', 'iframe', 'frame', 'frameset', 'object', 'embed', 'base', 'link', 'meta', 'dialog'],
  FORBID_ATTR: ['style', 'id', 'name', 'srcset', 'action', 'formaction', 'autofocus'],
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
};

const SAFE_LINK = /^(https?:|mailto:)/i;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** A fence's info string → a registered highlight.js language, if any. */
export function languageOf(info: string | undefined): string | undefined {
  const name = (info ?? '').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  if (!name) return undefined;
  return hljs.getLanguage(name) ? name : undefined;
}

/** The fence's language as a class-safe token (kept even when it cannot be highlighted: Insert and Apply use it). */
function classToken(info: string | undefined): string {
  return ((info ?? '').trim().split(/\s+/)[0] ?? '').replace(/[^\w+#.-]/g, '').slice(0, 40);
}

export function highlight(code: string, info: string | undefined): string {
  const language = languageOf(info);
  if (!language) return escapeHtml(code);
  try {
    return hljs.highlight(code, { language, ignoreIllegals: true }).value;
  } catch {
    return escapeHtml(code);
  }
}

export type Sanitizer = Pick<DOMPurify, 'sanitize'>;

/** Returns the markdown → safe HTML function for one sanitiser. */
export function createMarkdownRenderer(purify: Sanitizer): (markdown: string) => string {
  const marked = new Marked({
    gfm: true,
    breaks: false,
    async: false,
    renderer: {
      // Raw HTML in the model's answer is text, not markup.
      html({ text, block }: Tokens.HTML | Tokens.Tag): string {
        return block ? `<p class="raw-html">${escapeHtml(text.trimEnd())}</p>\n` : escapeHtml(text);
      },
      code({ text, lang }: Tokens.Code): string {
        const token = classToken(lang);
        const cls = token ? ` class="hljs language-${token}"` : ' class="hljs"';
        return `<pre><code${cls}>${highlight(text, lang)}</code></pre>\n`;
      },
      // Only web and mail links; anything else (javascript:, data:, vscode:, command:, relative paths) is plain text.
      link(this: { parser: { parseInline(tokens: Token[]): string } }, { href, title, tokens }: Tokens.Link): string {
        const label = this.parser.parseInline(tokens);
        if (!SAFE_LINK.test(href)) return label;
        return `<a href="${escapeHtml(href)}"${title ? ` title="${escapeHtml(title)}"` : ''}>${label}</a>`;
      },
      // Images would be fetched from wherever the model says (the CSP blocks them anyway): show a link instead.
      image({ href, text }: Tokens.Image): string {
        return SAFE_LINK.test(href) ? `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>` : escapeHtml(text || href);
      },
    },
  });
  return (markdown: string): string => {
    const html = marked.parse(markdown, { async: false });
    return purify.sanitize(html, { ...PURIFY_CONFIG, RETURN_DOM: false, RETURN_DOM_FRAGMENT: false, RETURN_TRUSTED_TYPE: false }) as string;
  };
}
