// The hardening suite's figures: each check tries a number of hostile inputs or events and says how many it tried, how
// many Phi Local refused or neutralised, and how many got through or lost something — so that a regression shows as
// a number. Printed as a line each (the test logs keep them); with PHI_LOCAL_HARDENING_FIGURES set (run.mjs sets it),
// also appended there as JSON lines for the table at the end.
import * as fs from 'node:fs';

export interface Figure {
  /** Inputs or events tried. */
  tried: number;
  /** Of those, refused or neutralised (an error that says why, text kept as text, a cancel with its cause). */
  refused: number;
  /** Lost or let through: a request never answered, an escape, a crash, a message gone. The check asserts 0. */
  lost: number;
  /** What the numbers count, briefly. */
  note?: string;
}

export function reportFigure(check: string, figure: Figure): void {
  console.log(`HARDENING ${check}: tried ${figure.tried}, refused ${figure.refused}, lost ${figure.lost}${figure.note ? ` (${figure.note})` : ''}`);
  const file = process.env.PHI_LOCAL_HARDENING_FIGURES;
  if (file) fs.appendFileSync(file, `${JSON.stringify({ check, ...figure })}\n`);
}
