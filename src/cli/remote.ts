// CLI commands for a running gateway: they go through its REST API, so the
// CLI and a controller see and change exactly the same things.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadToken } from '../api/auth.js';
import { ApiClient, parseApiUrl } from '../api/client.js';
import { NfvgwError } from '../core/errors.js';
import type { ApplyResult, FlowQuery } from '../service/gateway-service.js';
import { table } from './output.js';

/** How to reach the gateway: --api, the token (--token-file or NFVGW_TOKEN), the CA (--ca or NFVGW_CA). */
export interface RemoteOptions {
  api?: string;
  tokenFile?: string;
  ca?: string;
}

export function client(opts: RemoteOptions): ApiClient {
  const target = parseApiUrl(opts.api);
  const token = loadToken(opts.tokenFile, '--token-file', 'NFVGW_TOKEN');
  const caFile = opts.ca ?? (process.env.NFVGW_CA || undefined);
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile);
    } catch (e) {
      throw new NfvgwError('NFVGW_ERR_API_SETUP', `--ca ${caFile}: cannot read it (${(e as Error).message})`);
    }
  }
  return new ApiClient(target, { token: token?.value, ca });
}

export async function statusCommand(opts: RemoteOptions & { json?: boolean }): Promise<void> {
  const s = await client(opts).status();
  if (opts.json) {
    console.log(JSON.stringify(s));
    return;
  }
  console.log(`generation ${s.generation}, up ${s.uptimeSeconds} s since ${s.startedAt}`);
  console.log(
    `huge pages in use: ${s.hugepagesInUse}; routes: ${s.routes}; neighbors: ${s.neighbors.resolved}; ` +
      `connections: ${s.conntrack.entries} of ${s.conntrack.capacity}`,
  );
  console.log('');
  console.log(
    table(
      s.ports.map((p) => ({ ...p, addresses: p.addresses, interface: p.interface, xdp: p.xdpMode })),
      [
        'name',
        'type',
        'interface',
        'netns',
        'xdp',
        'zeroCopy',
        'queues',
        'addresses',
        'rxPackets',
        'txPackets',
      ],
    ),
  );
  console.log('');
  console.log(table(s.workers, ['id', 'core', 'pollMode', 'hugePages', 'busyPercent']));
  if (s.nat.length) {
    console.log('');
    console.log(
      table(s.nat, ['natGateway', 'publicIp', 'protocol', 'inUse', 'capacity', 'allocationFailures']),
    );
  }
  console.log('');
  const drops = Object.entries(s.drops.byReason).map(([reason, packets]) => ({ reason, packets }));
  console.log(`drops: ${s.drops.total}`);
  if (drops.length) console.log(table(drops));
  const events = Object.entries(s.events).map(([event, count]) => ({ event, count }));
  if (events.length) {
    console.log('');
    console.log(table(events));
  }
  for (const w of s.warnings) console.log(`warning: ${w}`);
}

export async function applyCommand(
  opts: RemoteOptions & { config: string; dryRun?: boolean },
): Promise<void> {
  let text: string;
  try {
    text = await readFile(opts.config, 'utf8');
  } catch (e) {
    throw new NfvgwError('NFVGW_ERR_CONFIG_PARSE', `cannot read ${opts.config}: ${(e as Error).message}`);
  }
  const r = await client(opts).putConfig(text, 'application/yaml', { dryRun: opts.dryRun });
  if (r.dryRun) {
    console.log(r.changed ? `would change (now generation ${r.generation}):` : 'would change nothing');
    for (const c of r.changes ?? []) {
      const parts = [
        c.added?.length ? `added ${c.added.join(', ')}` : '',
        c.removed?.length ? `removed ${c.removed.join(', ')}` : '',
        c.changed?.length ? `changed ${c.changed.join(', ')}` : '',
      ].filter(Boolean);
      console.log(`  ${c.path}${parts.length ? `: ${parts.join('; ')}` : ''}`);
    }
    return;
  }
  console.log(r.changed ? `applied: generation ${r.generation}` : `unchanged: generation ${r.generation}`);
}

export async function configCommand(opts: RemoteOptions): Promise<void> {
  process.stdout.write(await client(opts).configYaml());
}

export async function routesCommand(
  opts: RemoteOptions & { lookup?: string; table?: string; json?: boolean },
): Promise<void> {
  const c = client(opts);
  if (opts.table) {
    if (!opts.lookup)
      throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', 'nfvgw routes --table needs --lookup ADDR');
    const r = await c.vpcLookup(opts.table, opts.lookup);
    console.log(opts.json ? JSON.stringify(r) : table([{ ...r, target: r.target ?? 'no route' }]));
    return;
  }
  if (opts.lookup) {
    const r = await c.lookup(opts.lookup);
    console.log(opts.json ? JSON.stringify(r) : table([r]));
    return;
  }
  const { routes } = await c.routes();
  console.log(opts.json ? JSON.stringify(routes) : table(routes));
}

export async function neighborsCommand(opts: RemoteOptions & { json?: boolean }): Promise<void> {
  const { neighbors } = await client(opts).neighbors();
  console.log(opts.json ? JSON.stringify(neighbors) : table(neighbors));
}

/**
 * `nfvgw get|put|delete <collection> [id]`: one list of the configuration
 * (vpcs, enis, security-groups, load-balancers, ...) or one item of it;
 * `put` takes the item from --config FILE (YAML or JSON).
 */
export async function resourceCommand(
  opts: RemoteOptions & {
    verb: 'get' | 'put' | 'delete';
    collection?: string;
    id?: string;
    config?: string;
    dryRun?: boolean;
  },
): Promise<void> {
  const c = client(opts);
  if (!opts.collection)
    throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', `nfvgw ${opts.verb} needs a collection, like enis`);
  if (opts.verb === 'get') {
    console.log(JSON.stringify(await c.resource(opts.collection, opts.id), null, 2));
    return;
  }
  if (!opts.id) throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', `nfvgw ${opts.verb} needs the item's id`);
  let text: string | undefined;
  if (opts.verb === 'put') {
    if (!opts.config)
      throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', 'nfvgw put needs --config FILE with the item');
    try {
      text = await readFile(opts.config, 'utf8');
    } catch (e) {
      throw new NfvgwError('NFVGW_ERR_CONFIG_PARSE', `cannot read ${opts.config}: ${(e as Error).message}`);
    }
  }
  const r = await c.changeResource(opts.collection, opts.id, text, { dryRun: opts.dryRun });
  console.log(outcome(r));
}

/** What a change did (or would do), in one line. */
function outcome(r: ApplyResult): string {
  if (r.dryRun) return `would change: ${JSON.stringify(r.changes)}`;
  return r.changed ? `applied: generation ${r.generation}` : `unchanged: generation ${r.generation}`;
}

/** `nfvgw route set|delete --table ID DEST [TARGET]`: one route of a VPC route table. */
export async function routeCommand(
  opts: RemoteOptions & {
    verb?: string;
    table?: string;
    destination?: string;
    target?: string;
    dryRun?: boolean;
  },
): Promise<void> {
  const usage = 'nfvgw route set --table ID DEST TARGET, or nfvgw route delete --table ID DEST';
  if ((opts.verb !== 'set' && opts.verb !== 'delete') || !opts.table || !opts.destination)
    throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', usage);
  if (opts.verb === 'set' && !opts.target) throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', usage);
  const r = await client(opts).setRoute(
    opts.table,
    opts.destination,
    opts.verb === 'set' ? opts.target! : null,
    { dryRun: opts.dryRun },
  );
  console.log(outcome(r));
}

/** `nfvgw backend set|delete --lb ID ADDR[:PORT] [--weight N]`: one backend of a load balancer. */
export async function backendCommand(
  opts: RemoteOptions & { verb?: string; lb?: string; backend?: string; weight?: string; dryRun?: boolean },
): Promise<void> {
  const usage =
    'nfvgw backend set --lb ID ADDR[:PORT] [--weight N], or nfvgw backend delete --lb ID ADDR[:PORT]';
  if ((opts.verb !== 'set' && opts.verb !== 'delete') || !opts.lb || !opts.backend)
    throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', usage);
  const weight = opts.weight === undefined ? 1 : Number(opts.weight);
  if (!Number.isInteger(weight) || weight < 0)
    throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', `--weight ${opts.weight} is not a whole number`);
  const r = await client(opts).setBackend(opts.lb, opts.backend, opts.verb === 'set' ? weight : null, {
    dryRun: opts.dryRun,
  });
  console.log(outcome(r));
}

/** `nfvgw lb`: the load balancers, each backend with its health and counters. */
export async function lbCommand(opts: RemoteOptions & { json?: boolean }): Promise<void> {
  const { loadBalancers } = await client(opts).loadBalancers();
  if (opts.json) {
    console.log(JSON.stringify(loadBalancers));
    return;
  }
  for (const lb of loadBalancers) {
    console.log(`${lb.id}: ${lb.protocol} ${lb.vip}:${lb.port || '*'} ${lb.mode} ${lb.scheduler}`);
    const rows = lb.backends.map((b) => ({
      backend: `${b.ip}:${b.port || '*'}`,
      weight: b.weight,
      health: b.lastError && b.health === 'down' ? `down (${b.lastError})` : b.health,
      active: b.activeConnections,
      connections: b.connections,
      packets: b.packets,
      bytes: b.bytes,
    }));
    console.log(table(rows));
  }
}

/** `nfvgw flows`: the tracked connections, filtered; `--flush` removes them. */
export async function flowsCommand(
  opts: RemoteOptions & {
    json?: boolean;
    flush?: boolean;
    query: FlowQuery;
  },
): Promise<void> {
  const c = client(opts);
  if (opts.flush) {
    const r = await c.flushFlows(opts.query);
    console.log(opts.json ? JSON.stringify(r) : `${r.flushed} connections removed`);
    return;
  }
  const { flows, matched } = await c.flows(opts.query);
  if (opts.json) {
    console.log(JSON.stringify({ flows, matched }));
    return;
  }
  const rows = flows.map((f) => ({
    vpc: f.original.vpc,
    protocol: f.protocol,
    original: `${f.original.src}:${f.original.sport} -> ${f.original.dst}:${f.original.dport}`,
    reply: `${f.reply.src}:${f.reply.sport} -> ${f.reply.dst}:${f.reply.dport}${f.reply.vpc !== f.original.vpc ? ` (${f.reply.vpc})` : ''}`,
    state: f.state,
    expires: `${f.expiresInSeconds} s`,
  }));
  console.log(table(rows));
  console.log(`${flows.length} of ${matched} matching connections shown`);
}
