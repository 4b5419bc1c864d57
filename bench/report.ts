// `nfvgw bench --report`: the scenarios' results written down as
// bench/REPORT.md (the machine, a table of the packet scenarios, a table of
// the others, what failed) and bench/report.png (a chart of the packet
// scenarios), so that a run can be read and compared later without the
// console it ran in.
//
// The chart is an SVG made here and rendered to PNG by resvg (@resvg/resvg-js,
// a dev dependency: only the report needs it), with the DejaVu fonts
// (fonts-dejavu-core, installed by scripts/bootstrap.sh) given by file, so
// the text is the same whatever fontconfig finds.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem, type, version } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/dataplane/native.js';
import type { BenchResult } from './common.js';

/** One scenario's outcome: its results, or the error that stopped it. */
export interface ScenarioOutcome {
  scenario: string;
  results: BenchResult[];
  error?: string;
  seconds: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  memory_gib: number;
  kernel: string;
  os: string;
  node: string;
  date: string;
  commit: string;
}

function git(args: string[]): string {
  return execFileSync('git', args, {
    cwd: projectRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
}

export function machine(now = new Date()): Machine {
  let os = '';
  try {
    os = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {}
  let commit = 'unknown';
  try {
    commit = git(['rev-parse', 'HEAD']);
    // Tracked files changed: the numbers are of this tree, not of the commit alone.
    if (git(['status', '--porcelain', '--untracked-files=no'])) commit += ' (with uncommitted changes)';
  } catch {}
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${type()} ${release()} ${version()}`,
    os,
    node: process.version,
    date: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    commit,
  };
}

// --- Tables

/** Shown in their own columns of the packet table, so not among the details. */
const PACKET_COLUMNS = new Set([
  'bench',
  'flows',
  'mpps',
  'ns_per_pkt',
  'ratio_to_floor',
  'ratio_to_kernel',
  'kernel_mpps',
  'core',
]);

const cell = (v: unknown): string =>
  v === undefined || v === null
    ? ''
    : String(typeof v === 'object' ? JSON.stringify(v) : v)
        .replace(/\|/g, '\\|')
        .replace(/\s*\n\s*/g, ' ');

const fields = (r: BenchResult, skip: Set<string>) =>
  Object.entries(r)
    .filter(([k, v]) => !skip.has(k) && v !== undefined)
    .map(([k, v]) => `${k} ${cell(v)}`)
    .join(', ');

/** The result's name, with the scenario that made it when that is another. */
const nameOf = (o: ScenarioOutcome, r: BenchResult) =>
  r.bench === o.scenario ? `\`${r.bench}\`` : `\`${r.bench}\` (${o.scenario})`;

const isPacket = (r: BenchResult) => typeof r.mpps === 'number';

/** Parameters that tell results of one name apart, in the order they are tried. */
const PARAMETERS = ['flows', 'routes', 'rules', 'backends', 'mode', 'table_size', 'connections'];

/**
 * What tells a result from the others of its name (flows, routes, rules,
 * ...): the parameters that split the results further, each taken only
 * when it tells apart results the ones before it did not (so the
 * connections that follow from the flows are left out).
 */
function distinguishing(all: BenchResult[], r: BenchResult): [string, unknown][] {
  const same = all.filter((x) => x.bench === r.bench);
  if (same.length < 2) return [];
  const keys: string[] = [];
  let groups = 1;
  for (const k of PARAMETERS) {
    if (!same.some((x) => x[k] !== undefined)) continue;
    const n = new Set(same.map((x) => JSON.stringify([...keys, k].map((key) => x[key])))).size;
    if (n > groups) {
      keys.push(k);
      groups = n;
    }
    if (groups === same.length) break;
  }
  return keys.filter((k) => r[k] !== undefined).map((k) => [k, r[k]]);
}

export function reportMarkdown(m: Machine, outcomes: ScenarioOutcome[], chart: string | undefined): string {
  const out: string[] = [];
  const total = outcomes.reduce((a, o) => a + o.seconds, 0);
  out.push('# nfvgw benchmark report', '');
  out.push(
    `Written by \`nfvgw bench --report\` (bench/report.ts); ${outcomes.length} scenarios in ${Math.round(total)} s. What each scenario measures: README.md, "Benchmarks".`,
    '',
  );
  out.push('## Machine', '', '| | |', '|---|---|');
  for (const [k, v] of [
    ['CPU', m.cpu],
    ['cores', m.cores],
    ['memory', `${m.memory_gib} GiB`],
    ['kernel', m.kernel],
    ['OS', m.os],
    ['Node.js', m.node],
    ['date', m.date],
    ['git commit', m.commit],
  ] as const)
    out.push(`| ${k} | ${cell(v)} |`);
  out.push('');
  if (chart)
    out.push(`![ns per packet of the packet scenarios, against the floor and the kernel](${chart})`, '');

  const packet = outcomes.flatMap((o) => o.results.filter(isPacket).map((r) => [o, r] as const));
  if (packet.length) {
    out.push(
      '## Packet scenarios',
      '',
      "Mpps: millions of packets per second (best run; the median among the details). × floor: our ns/packet over the in-memory floor's, measured in the same run (1 is the floor). × kernel: our delivered packets per second over the Linux kernel's doing the same job in the same run.",
      '',
      '| scenario | flows | Mpps | ns/packet | × floor | × kernel | kernel Mpps | details |',
      '|---|--:|--:|--:|--:|--:|--:|---|',
    );
    for (const [o, r] of packet)
      out.push(
        `| ${nameOf(o, r)} | ${cell(r.flows)} | ${cell(r.mpps)} | ${cell(r.ns_per_pkt)} | ${cell(r.ratio_to_floor)} | ${cell(r.ratio_to_kernel)} | ${cell(r.kernel_mpps)} | ${fields(r, PACKET_COLUMNS)} |`,
      );
    out.push('');
  }

  const other = outcomes.flatMap((o) => o.results.filter((r) => !isPacket(r)).map((r) => [o, r] as const));
  if (other.length) {
    out.push(
      '## Other results',
      '',
      "Each result's own fields: `_ms` milliseconds, `requests_per_sec` and `latency_*_ms` from autocannon, `_pct` percent.",
      '',
      '| scenario | results |',
      '|---|---|',
    );
    for (const [o, r] of other) out.push(`| ${nameOf(o, r)} | ${fields(r, new Set(['bench']))} |`);
    out.push('');
  }

  const failed = outcomes.filter((o) => o.error !== undefined);
  if (failed.length) {
    out.push('## Failed scenarios', '', '| scenario | error |', '|---|---|');
    for (const o of failed) out.push(`| \`${o.scenario}\` | ${cell(o.error)} |`);
    out.push('');
  }

  out.push('## Time per scenario', '', '| scenario | seconds | results |', '|---|--:|--:|');
  for (const o of outcomes)
    out.push(
      `| \`${o.scenario}\` | ${Math.round(o.seconds)} | ${o.error === undefined ? o.results.length : 'failed'} |`,
    );
  out.push('');
  return out.join('\n');
}

// --- The chart

const FONT = 'DejaVu Sans';
const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
];
/** The chart's width at least, and the plot's; the labels' room left of it grows with the longest. */
const WIDTH = 1000;
const PLOT_W = 520;
/** Room right of the plot for the values. */
const VALUE_W = 190;
const ROW = 24;
const BAR = 15;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Gridline steps: 1, 2 or 5 times a power of ten, about five of them. */
function niceStep(max: number): number {
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((f) => f * p).find((s) => s >= raw) ?? raw;
}

interface Bar {
  label: string;
  value: number;
  /** Where a reference sits on the same scale (the floor; the kernel's 1.0). */
  mark?: number;
  text: string;
}

/** One panel of horizontal bars from `y`; returns the SVG and the height it took. */
function panel(
  y: number,
  labelW: number,
  title: string,
  note: string,
  bars: Bar[],
  unit: string,
  markLabel: string,
) {
  const parts: string[] = [];
  const plotX = labelW + 10;
  const plotW = Math.max(PLOT_W, WIDTH - plotX - VALUE_W);
  const max = Math.max(...bars.flatMap((b) => [b.value, b.mark ?? 0])) * 1.05;
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const x = (v: number) => plotX + (v / top) * plotW;
  parts.push(`<text x="20" y="${y + 18}" font-size="16" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<text x="20" y="${y + 36}" font-size="12" fill="#555">${esc(note)}</text>`);
  const y0 = y + 50;
  const h = bars.length * ROW;
  for (let v = 0; v <= top + 1e-9; v += step) {
    parts.push(`<line x1="${x(v)}" y1="${y0}" x2="${x(v)}" y2="${y0 + h}" stroke="#e3e3e3"/>`);
    parts.push(
      `<text x="${x(v)}" y="${y0 + h + 14}" font-size="11" fill="#555" text-anchor="middle">${round2(v)}</text>`,
    );
  }
  parts.push(
    `<text x="${plotX + plotW / 2}" y="${y0 + h + 30}" font-size="12" fill="#333" text-anchor="middle">${esc(unit)}</text>`,
  );
  bars.forEach((b, i) => {
    const by = y0 + i * ROW + (ROW - BAR) / 2;
    parts.push(
      `<text x="${labelW}" y="${by + BAR - 3}" font-size="12" text-anchor="end">${esc(b.label)}</text>`,
    );
    parts.push(
      `<rect x="${plotX}" y="${by}" width="${Math.max(1, x(b.value) - plotX)}" height="${BAR}" fill="#4878a8"/>`,
    );
    if (b.mark !== undefined)
      parts.push(
        `<line x1="${x(b.mark)}" y1="${by - 3}" x2="${x(b.mark)}" y2="${by + BAR + 3}" stroke="#d04a02" stroke-width="3"/>`,
      );
    parts.push(
      `<text x="${Math.max(x(b.value), b.mark !== undefined ? x(b.mark) : 0) + 6}" y="${by + BAR - 3}" font-size="12">${esc(b.text)}</text>`,
    );
  });
  // The legend of the mark, right of the axis title.
  const ly = y0 + h + 30;
  const lx = plotX + plotW - 150;
  parts.push(
    `<line x1="${lx}" y1="${ly - 12}" x2="${lx}" y2="${ly + 2}" stroke="#d04a02" stroke-width="3"/>`,
  );
  parts.push(`<text x="${lx + 8}" y="${ly}" font-size="12">${esc(markLabel)}</text>`);
  return { svg: parts.join('\n'), height: ly - y + 24 };
}

const round2 = (v: number) => Math.round(v * 100) / 100;

function label(all: BenchResult[], r: BenchResult): string {
  const d = distinguishing(all, r)
    // "1 flow", not "1 flows".
    .map(
      ([k, v]) =>
        `${typeof v === 'number' ? v.toLocaleString('en-US') : v} ${v === 1 ? k.replace(/s$/, '') : k}`,
    )
    .join(', ');
  return d ? `${r.bench} (${d})` : r.bench;
}

/** The chart's SVG, or undefined when no result has packets to show. */
export function chartSvg(outcomes: ScenarioOutcome[], m: Machine): string | undefined {
  const all = outcomes.flatMap((o) => o.results);
  // In memory: ns/packet with the floor of the same run marked (end-to-end
  // runs have a ns/packet too, of the generator's offered rate: thousands,
  // which would flatten every pipeline bar; they are the second panel).
  const inMemory: Bar[] = all
    .filter((r) => typeof r.ns_per_pkt === 'number' && typeof r.ratio_to_kernel !== 'number')
    .map((r) => {
      const floorNs = typeof r.floor_mpps === 'number' && r.floor_mpps > 0 ? 1000 / r.floor_mpps : undefined;
      return {
        label: label(all, r),
        value: r.ns_per_pkt as number,
        ...(floorNs !== undefined ? { mark: floorNs } : {}),
        text:
          `${r.ns_per_pkt} ns` +
          (typeof r.ratio_to_floor === 'number' ? `, ${r.ratio_to_floor}x the floor` : ''),
      };
    });
  // Against the kernel: our packets per second over the kernel's.
  const kernel: Bar[] = all
    .filter((r) => typeof r.ratio_to_kernel === 'number')
    .map((r) => ({
      label: label(all, r),
      value: r.ratio_to_kernel as number,
      mark: 1,
      text: `${r.ratio_to_kernel}x (${r.mpps} against ${r.kernel_mpps} Mpps)`,
    }));
  if (!inMemory.length && !kernel.length) return undefined;
  // DejaVu Sans at 12 px: under 7 px a character.
  const labelW = Math.max(160, ...[...inMemory, ...kernel].map((b) => b.label.length * 7 + 20));
  const width = Math.max(WIDTH, labelW + 10 + PLOT_W + VALUE_W);
  const parts: string[] = [];
  let y = 10;
  parts.push(
    `<text x="20" y="${y + 20}" font-size="18" font-weight="bold">nfvgw benchmarks, ${esc(m.date.slice(0, 16).replace('T', ' '))} UTC, ${esc(m.commit.slice(0, 10))}${m.commit.includes('uncommitted') ? '+' : ''}, ${m.cores} cores, ${esc(m.cpu)}</text>`,
  );
  y += 36;
  if (inMemory.length) {
    const p = panel(
      y,
      labelW,
      'In-memory pipelines: nanoseconds per packet (shorter is better)',
      'One busy worker, in-memory ports; the mark is the floor (the same port and loop, MACs swapped) measured in the same run.',
      inMemory,
      'ns per packet',
      'floor (same run)',
    );
    parts.push(p.svg);
    y += p.height;
  }
  if (kernel.length) {
    const p = panel(
      y,
      labelW,
      'End to end over veth: packets per second relative to the Linux kernel (longer is better)',
      "Delivered packets per second over the kernel's doing the same job in the same run, as installed.",
      kernel,
      'x the kernel',
      'the kernel (1.0)',
    );
    parts.push(p.svg);
    y += p.height;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="${FONT}">
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>`;
}

export async function renderPng(svg: string): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const fontFiles = FONT_FILES.filter((f) => existsSync(f));
  const resvg = new Resvg(svg, {
    font: { fontFiles, loadSystemFonts: fontFiles.length === 0, defaultFontFamily: FONT },
  });
  return resvg.render().asPng();
}

/** Writes bench/REPORT.md and, when there is something to chart, bench/report.png; returns their paths. */
export async function writeReport(outcomes: ScenarioOutcome[]): Promise<string[]> {
  const dir = join(projectRoot, 'bench');
  const m = machine();
  const svg = chartSvg(outcomes, m);
  const written: string[] = [];
  let chart: string | undefined;
  let chartError: string | undefined;
  if (svg) {
    // A chart that cannot be drawn must not cost the run its tables.
    try {
      const png = join(dir, 'report.png');
      writeFileSync(png, await renderPng(svg));
      written.push(png);
      chart = 'report.png';
    } catch (e) {
      chartError = (e as Error).message;
    }
  }
  const md = join(dir, 'REPORT.md');
  let text = reportMarkdown(m, outcomes, chart);
  if (chartError) text += `\nThe chart could not be drawn: ${chartError}\n`;
  writeFileSync(md, text);
  written.unshift(md);
  return written;
}
