// The gateway's saved state: the last configuration it applied, so that a
// restart comes back to what the controller last set and nothing is lost.
//
// Written atomically after every successful apply: a temporary file, fsync,
// rename over the old one, fsync of the directory. A state that cannot be
// read or does not validate is reported with its path and refused whole:
// the gateway does not start on half of it (remove the file to start from
// --config instead).
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { validateConfig } from '../config/validate.js';
import { NfvgwError } from '../core/errors.js';

export interface SavedState {
  generation: number;
  savedAt: string;
  config: Config;
}

export function statePath(dir: string): string {
  return join(dir, 'config.json');
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
  let config: Config;
  try {
    config = validateConfig(doc.config);
  } catch (e) {
    const err = NfvgwError.from(e);
    throw refuse(`the configuration in it is invalid (${err.message})`, err.details);
  }
  return { generation: doc.generation as number, savedAt: String(doc.savedAt ?? ''), config };
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
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
