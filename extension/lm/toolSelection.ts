// VS Code's Chat in Agent mode sends its ~40 tool definitions with every request: on Phi-4-mini's context they may
// not fit beside the conversation. Instead of refusing the request, the model is offered the tools most relevant to
// it (the latest user message's words against each tool's name and description, BM25-style), as many as fit the
// room left and at most MAX_OFFERED, and the answer says which were left out. Pure: the unit tests call it.
import type { ToolDefinition } from '../../sidecar/protocol';

/** When not all fit: beyond this many, a small model picks worse, whatever the room. */
export const MAX_OFFERED = 16;

/** A cheap upper estimate of a definition's tokens: JSON of code-like text averages over 3.5 characters per token. */
export function estimateToolTokens(tool: ToolDefinition): number {
  return Math.ceil(JSON.stringify({ name: tool.name, description: tool.description ?? '', parameters: tool.parameters ?? {} }).length / 3) + 4;
}

/**
 * Lower-case words of a name or a text: camelCase, snake_case and kebab-case split; short and common words left out;
 * a plural's s dropped ("files" finds file_search).
 */
export function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 2 && !STOP.has(w))
    .map((w) => (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w));
}

const STOP = new Set(['the', 'and', 'for', 'with', 'this', 'that', 'from', 'into', 'are', 'you', 'use', 'can', 'its', 'not', 'all', 'any', 'one', 'when', 'what', 'how', 'tool', 'tools']);

export interface ToolSelection {
  offered: ToolDefinition[];
  left: string[];
}

/**
 * The tools to offer within `budgetTokens` (estimated): all when they fit; otherwise the most relevant to `query`
 * first (ties keep the caller's order), while they fit, at most MAX_OFFERED.
 */
export function selectTools(tools: readonly ToolDefinition[], query: string, budgetTokens: number): ToolSelection {
  const cost = tools.map(estimateToolTokens);
  if (cost.reduce((a, b) => a + b, 0) <= budgetTokens) return { offered: [...tools], left: [] };
  const docs = tools.map((t) => [...words(t.name), ...words(t.name), ...words(t.description ?? '')]);
  const avg = docs.reduce((a, d) => a + d.length, 0) / Math.max(1, docs.length);
  const terms = [...new Set(words(query))];
  const df = new Map(terms.map((t) => [t, docs.filter((d) => d.includes(t)).length]));
  const score = (d: string[]) => terms.reduce((sum, t) => {
    const f = d.filter((w) => w === t).length;
    if (!f) return sum;
    const idf = Math.log(1 + (docs.length - df.get(t)! + 0.5) / (df.get(t)! + 0.5));
    return sum + (idf * f * 2.2) / (f + 1.2 * (0.25 + (0.75 * d.length) / avg));
  }, 0);
  const order = tools.map((t, i) => ({ i, s: score(docs[i]) })).sort((a, b) => b.s - a.s || a.i - b.i);
  const chosen = new Set<number>();
  let used = 0;
  for (const { i } of order) {
    if (chosen.size >= MAX_OFFERED) break;
    if (used + cost[i] > budgetTokens) continue;
    chosen.add(i);
    used += cost[i];
  }
  return { offered: tools.filter((_, i) => chosen.has(i)), left: tools.filter((_, i) => !chosen.has(i)).map((t) => t.name) };
}
