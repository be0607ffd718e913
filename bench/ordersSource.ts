// A realistic file to complete in and to explain: about 120 lines of TypeScript (the completion benchmarks).
export const ORDERS_SOURCE = [
  "import * as fs from 'node:fs';",
  "import * as path from 'node:path';",
  '',
  'export interface Order { id: string; items: { sku: string; price: number; quantity: number }[]; customer: string }',
  '',
  ...Array.from({ length: 20 }, (_, i) => [
    `/** Reads order file number ${i} and returns its total. */`,
    `export function orderTotal${i}(dir: string): number {`,
    `  const order: Order = JSON.parse(fs.readFileSync(path.join(dir, 'order-${i}.json'), 'utf8'));`,
    '  return order.items.reduce((sum, item) => sum + item.price * item.quantity, 0);',
    '}',
    '',
  ]).flat(),
].join('\n');
