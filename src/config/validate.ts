// Validation of a desired-state document: the schema first (types, ranges,
// unknown fields), then the rules that span fields (unique names, address
// overlaps, references between routes, neighbors and ports). Every problem
// comes back with its JSON path; a document with any problem changes
// nothing. A valid configuration is frozen: nothing changes it afterwards.
import { cpus } from 'node:os';
import type { z } from 'zod';
import { type ErrorDetail, NfvgwError } from '../core/errors.js';
import { broadcastOf, contains, formatPrefix, networkOf, overlaps, parseIp4, parsePrefix } from './ip.js';
import { type Config, ConfigSchema } from './schema.js';
import { lbIssues } from './validate-lb.js';
import { vpcIssues } from './validate-vpc.js';

export function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '$';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}

function schemaIssues(error: z.ZodError): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        details.push({ path: jsonPath([...issue.path, key]), message: 'unknown field' });
    } else {
      details.push({ path: jsonPath(issue.path), message: issue.message });
    }
  }
  return details;
}

function semanticIssues(cfg: Config): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const add = (path: ReadonlyArray<PropertyKey>, message: string) =>
    out.push({ path: jsonPath(path), message });

  // The machine's CPUs, not those this process may run on: a gateway started
  // with an affinity mask (or isolcpus) still pins its workers to the others.
  const cores = cpus().length;
  const usedCores = new Map<number, number>();
  cfg.workers.forEach((w, i) => {
    if (w.core === undefined) return;
    if (w.core >= cores)
      add(
        ['workers', i, 'core'],
        `core ${w.core} does not exist (this machine has ${cores}: 0..${cores - 1})`,
      );
    const other = usedCores.get(w.core);
    if (other !== undefined)
      add(['workers', i, 'core'], `core ${w.core} is already used by workers[${other}]`);
    else usedCores.set(w.core, i);
  });

  const portIndex = new Map<string, number>();
  const interfaces = new Map<string, number>();
  const addrs: { port: number; addr: number; prefix: { ip: number; len: number } }[] = [];
  cfg.ports.forEach((p, i) => {
    if (portIndex.has(p.name))
      add(['ports', i, 'name'], `the name ${p.name} is already used by ports[${portIndex.get(p.name)}]`);
    else portIndex.set(p.name, i);
    if (p.type === 'mem') {
      if (p.interface !== undefined) add(['ports', i, 'interface'], 'mem ports have no interface');
      if (p.netns !== undefined) add(['ports', i, 'netns'], 'mem ports have no network namespace');
    } else {
      if (p.interface === undefined) add(['ports', i, 'interface'], `${p.type} ports need an interface`);
      else {
        const key = `${p.netns ?? ''}/${p.interface}`;
        const other = interfaces.get(key);
        if (other !== undefined)
          add(['ports', i, 'interface'], `interface ${p.interface} is already ports[${other}]`);
        else interfaces.set(key, i);
      }
      if (p.mac !== undefined)
        add(['ports', i, 'mac'], 'only mem ports take a MAC; interfaces use their own');
    }
    if (p.type !== 'af_xdp' && (p.xdpMode !== 'auto' || p.zeroCopy !== 'auto'))
      add(['ports', i], 'xdpMode and zeroCopy apply to af_xdp ports only');
    p.addresses.forEach((text, j) => {
      const pre = parsePrefix(text)!;
      if (pre.len < 31 && (pre.ip === networkOf(pre.ip, pre.len) || pre.ip === broadcastOf(pre.ip, pre.len)))
        add(['ports', i, 'addresses', j], `${text} is the network or broadcast address of its subnet`);
      for (const other of addrs) {
        if (overlaps(other.prefix, pre)) {
          const where = `ports[${other.port}].addresses[${other.addr}]`;
          add(['ports', i, 'addresses', j], `${text} overlaps ${formatPrefix(other.prefix)} at ${where}`);
        }
      }
      addrs.push({ port: i, addr: j, prefix: pre });
    });
  });

  const subnetsOf = (port: number) => cfg.ports[port]!.addresses.map((a) => parsePrefix(a)!);
  const portFor = (ip: number): number | undefined => {
    for (const a of addrs) if (contains(a.prefix, ip)) return a.port;
    return undefined;
  };

  const destinations = new Map<string, number>();
  cfg.routes.forEach((r, i) => {
    const pre = parsePrefix(r.destination)!;
    if (networkOf(pre.ip, pre.len) !== pre.ip) {
      const fixed = formatPrefix({ ip: networkOf(pre.ip, pre.len), len: pre.len });
      add(['routes', i, 'destination'], `${r.destination} has host bits set (did you mean ${fixed}?)`);
    }
    const key = formatPrefix({ ip: networkOf(pre.ip, pre.len), len: pre.len });
    const other = destinations.get(key);
    if (other !== undefined)
      add(['routes', i, 'destination'], `${key} is already routed by routes[${other}]`);
    else destinations.set(key, i);
    if (r.port !== undefined && !portIndex.has(r.port))
      add(['routes', i, 'port'], `no port is named ${r.port}`);
    if (r.type !== 'unicast') {
      if (r.via !== undefined || r.port !== undefined)
        add(['routes', i], `${r.type} routes take neither via nor port`);
      return;
    }
    if (r.via === undefined && r.port === undefined) {
      add(['routes', i], 'a unicast route needs via (a next-hop router) or port (on-link)');
      return;
    }
    if (r.via !== undefined) {
      const via = parseIp4(r.via)!;
      const port = r.port !== undefined ? portIndex.get(r.port) : portFor(via);
      if (port === undefined) {
        if (r.port === undefined) add(['routes', i, 'via'], `${r.via} is not on a subnet of any port`);
      } else if (!subnetsOf(port).some((s) => contains(s, via))) {
        add(['routes', i, 'via'], `${r.via} is not on a subnet of port ${cfg.ports[port]!.name}`);
      } else if (addrs.some((a) => a.prefix.ip === via)) {
        add(['routes', i, 'via'], `${r.via} is an address of the gateway itself`);
      }
    }
  });

  cfg.neighbors.forEach((n, i) => {
    const port = portIndex.get(n.port);
    if (port === undefined) {
      add(['neighbors', i, 'port'], `no port is named ${n.port}`);
      return;
    }
    const ip = parseIp4(n.address)!;
    if (!subnetsOf(port).some((s) => contains(s, ip)))
      add(['neighbors', i, 'address'], `${n.address} is not on a subnet of port ${n.port}`);
  });

  if (cfg.neighborTimers.expireMs < cfg.neighborTimers.reachableMs)
    add(['neighborTimers', 'expireMs'], 'must not be shorter than reachableMs');
  vpcIssues(cfg, add);
  lbIssues(cfg, add);
  return out;
}

/** Checks a document; returns it frozen with defaults filled in, or throws NFVGW_ERR_CONFIG_INVALID. */
export function validateConfig(input: unknown): Config {
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new NfvgwError(
      'NFVGW_ERR_CONFIG_INVALID',
      'the configuration is invalid',
      schemaIssues(parsed.error),
    );
  }
  const issues = semanticIssues(parsed.data);
  if (issues.length) throw new NfvgwError('NFVGW_ERR_CONFIG_INVALID', 'the configuration is invalid', issues);
  return deepFreeze(parsed.data);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
