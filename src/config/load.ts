// Reading a desired-state document from text (YAML or JSON; JSON is YAML)
// or a file. Parse errors say where: line and column.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { NfvgwError } from '../core/errors.js';

export function parseConfigText(text: string, source = 'configuration'): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new NfvgwError(
      'NFVGW_ERR_CONFIG_PARSE',
      `${source} is not valid YAML or JSON`,
      doc.errors.map((e) => ({
        path: e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : source,
        message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
      })),
    );
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // An alias to an anchor that is not there, or too many aliases (a
    // "billion laughs" document).
    throw new NfvgwError('NFVGW_ERR_CONFIG_PARSE', `${source} is not valid YAML or JSON`, [
      { path: source, message: (e as Error).message },
    ]);
  }
}

export async function loadConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new NfvgwError('NFVGW_ERR_CONFIG_PARSE', `cannot read ${path}: ${(e as Error).message}`);
  }
  return parseConfigText(text, path);
}
