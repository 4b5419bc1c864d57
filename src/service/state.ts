// The gateway's saved state: the last configuration it applied, so that a
// restart comes back to what the controller last set and nothing is lost.
//
// Written atomically after every successful apply: a temporary file, fsync,
// rename over the old one, fsync of the directory. A state that cannot be
// read or does not validate is reported with its path and refused whole:
// the gateway does not start on half of it (remove the file to start from
// --config instead).
//
// Single route changes (GatewayService.setRoute) take milliseconds; writing
// a document of 100 000 routes after each would take longer than the change.
// They go to a journal next to it instead (journal.jsonl: one line per
// change with its generation, appended and fsynced before the change is
// acknowledged), replayed over config.json at the next start; the document
// is written whole again (and the journal emptied) every
// JOURNAL_COMPACT_AFTER changes and at every other apply. A last line cut
// short by a crash during its write was never acknowledged: it is ignored.
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { validateConfig } from '../config/validate.js';
import { NfvgwError } from '../core/errors.js';
import type { VpcRouteChange } from './route-change.js';

/** Journal entries after which the whole document is written again. */
export const JOURNAL_COMPACT_AFTER = 1000;

export interface SavedState {
  generation: number;
  savedAt: string;
  config: Config;
  /** Route changes replayed from the journal over the saved document. */
  journaled: number;
}

export function statePath(dir: string): string {
  return join(dir, 'config.json');
}

export function journalPath(dir: string): string {
  return join(dir, 'journal.jsonl');
}

interface JournalEntry extends VpcRouteChange {
  generation: number;
}

/** The saved state in `dir`, or undefined when there is none. Throws NFVGW_ERR_STATE_FILE when it is unusable. */
export function loadState(dir: string): SavedState | undefined {
  const path = statePath(dir);
  if (!existsSync(path)) return undefined;
  const refuse = (why: string, details: { path: string; message: string }[] = []) =>
    new NfvgwError(
      'NFVGW_ERR_STATE_FILE',
      `${path}: ${why}; fix or remove it (the gateway then starts from --config)`,
      details,
    );
  let doc: { generation?: unknown; savedAt?: unknown; config?: unknown };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw refuse(`not readable JSON (${(e as Error).message})`);
  }
  if (
    typeof doc !== 'object' ||
    doc === null ||
    !Number.isSafeInteger(doc.generation) ||
    (doc.generation as number) < 1
  )
    throw refuse('no generation number');
  let generation = doc.generation as number;
  const journaled = replayJournal(dir, doc, generation);
  generation += journaled;
  let config: Config;
  try {
    config = validateConfig(doc.config);
  } catch (e) {
    const err = NfvgwError.from(e);
    throw refuse(
      `the configuration in it${journaled ? ` with ${journaled} journaled route changes` : ''} is invalid (${err.message})`,
      err.details,
    );
  }
  return { generation, savedAt: String(doc.savedAt ?? ''), config, journaled };
}

// Applies the journal's entries after `generation` to the saved document
// (not validated yet: the caller validates the result whole). Returns how
// many it applied; throws NFVGW_ERR_STATE_FILE for a journal that does not
// follow on from the document.
function replayJournal(dir: string, doc: { config?: unknown }, generation: number): number {
  const path = journalPath(dir);
  if (!existsSync(path)) return 0;
  const refuse = (line: number, why: string) =>
    new NfvgwError(
      'NFVGW_ERR_STATE_FILE',
      `${path}:${line}: ${why}; fix or remove it (the gateway then starts from ${statePath(dir)} alone)`,
    );
  const lines = readFileSync(path, 'utf8').split('\n');
  const tables = (doc.config as { routeTables?: { id?: unknown; routes?: unknown }[] } | undefined)
    ?.routeTables;
  let applied = 0;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    if (!text) continue;
    let e: JournalEntry;
    try {
      e = JSON.parse(text);
    } catch {
      // Cut short by a crash while it was written, so never acknowledged.
      if (i === lines.length - 1) break;
      throw refuse(i + 1, 'not a JSON line');
    }
    if (e.generation <= generation + applied) continue; // already in the document
    if (e.generation !== generation + applied + 1)
      throw refuse(i + 1, `generation ${e.generation} does not follow ${generation + applied}`);
    const table = Array.isArray(tables) ? tables.find((t) => t?.id === e.routeTable) : undefined;
    if (!table || !Array.isArray(table.routes)) throw refuse(i + 1, `no route table ${e.routeTable}`);
    const routes = table.routes as { destination?: unknown; target?: unknown }[];
    const at = routes.findIndex((r) => r?.destination === e.destination);
    if (e.target === null) {
      if (at >= 0) routes.splice(at, 1);
    } else if (at >= 0) {
      routes[at] = { destination: e.destination, target: e.target };
    } else {
      routes.push({ destination: e.destination, target: e.target });
    }
    applied++;
  }
  return applied;
}

/** Appends one route change at `generation` to the journal in `dir`, durably. */
export function journalRouteChange(dir: string, generation: number, change: VpcRouteChange): void {
  const fd = openSync(journalPath(dir), 'a', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ generation, ...change })}\n`);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * What `nfvgw run --state-dir` hands the service as onApplied: a route
 * change goes to the journal, anything else (and every
 * JOURNAL_COMPACT_AFTER-th route change) writes the document whole.
 */
export function stateSaver(dir: string, journaled = 0, compactAfter = JOURNAL_COMPACT_AFTER) {
  let pending = journaled;
  return (generation: number, config: Config, change?: VpcRouteChange): void => {
    if (change && pending < compactAfter) {
      journalRouteChange(dir, generation, change);
      pending++;
      return;
    }
    saveState(dir, generation, config);
    pending = 0;
  };
}

/** Saves `config` at `generation` in `dir`, atomically. */
export function saveState(dir: string, generation: number, config: Config): void {
  mkdirSync(dir, { recursive: true });
  const path = statePath(dir);
  const tmp = `${path}.tmp-${process.pid}`;
  const text = `${JSON.stringify({ generation, savedAt: new Date().toISOString(), config }, null, 2)}\n`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // The document holds every journaled change now: the journal goes, after
  // the rename is durable (its entries are at or below `generation`, so a
  // crash in between replays none of them).
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
    rmSync(journalPath(dir), { force: true });
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
