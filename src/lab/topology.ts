// Network-namespace topologies for tests, the demo and the benchmarks.
//
// Scenario `l3` (the default): two hosts on two subnets with the gateway
// between them, each host a namespace with the Linux kernel's own stack:
//
//   <p>-h1 (eth0 10.11.1.2/24) ==veth== <p>-gw (gw-a | gw-b) ==veth== <p>-h2 (eth0 10.11.2.2/24)
//
// The gateway's interfaces carry no kernel addresses and the gateway
// namespace does not forward, so only nfvgw moves packets between the
// hosts, unless kernelRouting() turns that namespace into a Linux router
// for the same job (the benchmarks' baseline).
//
// Every lab is named by a prefix; `up` first removes whatever a crashed
// earlier run left under the same prefix, `down` removes it all.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { nsRun, run } from './exec.js';

export interface Host {
  ns: string;
  iface: string;
  ip: string;
  prefixLen: number;
  mac: string;
  gateway: string;
}

export interface LabPort {
  iface: string;
  ip: string;
  prefixLen: number;
  peer: Host;
}

export interface Lab {
  prefix: string;
  scenario: string;
  gwNs: string;
  ports: LabPort[];
  hosts: Host[];
  queues: number;
}

export const SCENARIOS = {
  l3: 'two hosts on two subnets, the gateway routing between them',
  vpc: 'VPCs on three hypervisors with kernel VXLAN VTEPs, the gateway as their hub (see vpc-scenario.ts)',
} as const;
export type Scenario = keyof typeof SCENARIOS;

export interface LabOptions {
  prefix?: string;
  /** Queues per veth (AF_XDP needs one per gateway worker). */
  queues?: number;
}

async function namespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list'], { allowFail: true });
  return out.stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}

/**
 * A new lab namespace: loopback up, IPv6 off (no router solicitations and
 * neighbor discovery noise in the counters), and an empty resolver:
 * `ip netns exec NS` bind-mounts /etc/netns/NS/resolv.conf over the real one,
 * so lab hosts send no DNS queries anywhere.
 */
export async function createNs(ns: string): Promise<void> {
  await run('ip', ['netns', 'add', ns]);
  mkdirSync(`/etc/netns/${ns}`, { recursive: true });
  writeFileSync(`/etc/netns/${ns}/resolv.conf`, '# nfvgw lab: no DNS\n');
  await sysctl(ns, 'net.ipv6.conf.all.disable_ipv6=1');
  await sysctl(ns, 'net.ipv6.conf.default.disable_ipv6=1');
  await nsRun(ns, 'ip', ['link', 'set', 'lo', 'up']);
}

/** Removes every namespace of the lab named `prefix`, and the processes in them. */
export async function labDown(prefix = 'nfvgw'): Promise<string[]> {
  const mine = (await namespaces()).filter((n) => n.startsWith(`${prefix}-`));
  for (const ns of mine) {
    rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    const pids = await run('ip', ['netns', 'pids', ns], { allowFail: true });
    for (const pid of pids.stdout.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await run('ip', ['netns', 'del', ns], { allowFail: true });
  }
  return mine;
}

export async function sysctl(ns: string, kv: string) {
  await nsRun(ns, 'sysctl', ['-qw', kv]);
}

/**
 * A bridge `name` in `ns` (down: its caller sets its MTU and brings it up)
 * that forwards as a physical switch does:
 * - multicast snooping off: a snooping bridge joins All-Snoopers
 *   (224.0.0.106, RFC 4286), and its IGMP reports would reach the gateway
 *   at random moments (an l2_multicast drop, or a spoofed frame from a MAC
 *   that is no ENI's);
 * - no netfilter: with br_netfilter in the kernel (built in here) every
 *   namespace starts with bridge-nf-call-* on, and every IPv4 frame a lab
 *   bridge forwarded went through the iptables hooks, a tenth of the
 *   sender's core in the end-to-end benchmarks. Without br_netfilter the
 *   keys are absent and there is nothing to turn off (-e).
 */
export async function labBridge(ns: string, name: string) {
  await nsRun(ns, 'ip', ['link', 'add', name, 'type', 'bridge', 'mcast_snooping', '0']);
  const off = ['iptables', 'ip6tables', 'arptables'].map((t) => `net.bridge.bridge-nf-call-${t}=0`);
  await nsRun(ns, 'sysctl', ['-qwe', ...off]);
}

// Offloads off on every lab veth: with TSO/GSO a sender hands over 64 KB
// "packets" that never exist on a real wire, with TX checksum offload it
// leaves checksums unfinished for the receiver to trust, and veth skips XDP
// for frames from a TSO-capable peer. A physical NIC delivers finished,
// MTU-sized frames; so does the lab with these off.
export async function offloadsOff(ns: string, iface: string) {
  await nsRun(
    ns,
    'ethtool',
    ['-K', iface, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off', 'rx', 'off'],
    {
      allowFail: true,
    },
  );
}

/**
 * A veth pair from `a` (interface `aName` in namespace `aNs`) to `b`, with
 * offloads off on both ends; `queues` RX and TX queues each (default 1).
 */
export async function vethPair(
  aNs: string,
  aName: string,
  bNs: string,
  bName: string,
  queues = 1,
): Promise<void> {
  const q = queues > 1 ? ['numrxqueues', String(queues), 'numtxqueues', String(queues)] : [];
  await run('ip', [
    'link',
    'add',
    aName,
    'netns',
    aNs,
    ...q,
    'type',
    'veth',
    'peer',
    'name',
    bName,
    'netns',
    bNs,
    ...q,
  ]);
  await offloadsOff(aNs, aName);
  await offloadsOff(bNs, bName);
}

export async function macOf(ns: string, iface: string): Promise<string> {
  const out = await nsRun(ns, 'cat', [`/sys/class/net/${iface}/address`]);
  return out.stdout.trim();
}

export async function labUp(opts: LabOptions = {}): Promise<Lab> {
  const prefix = opts.prefix ?? 'nfvgw';
  const scenario = 'l3';
  const queues = opts.queues ?? 1;
  await labDown(prefix);

  const gwNs = `${prefix}-gw`;
  const lab: Lab = { prefix, scenario, gwNs, ports: [], hosts: [], queues };
  await createNs(gwNs);
  await sysctl(gwNs, 'net.ipv4.ip_forward=0');

  const sides = [
    { host: 'h1', iface: 'gw-a', subnet: '10.11.1' },
    { host: 'h2', iface: 'gw-b', subnet: '10.11.2' },
  ];
  for (const s of sides) {
    const ns = `${prefix}-${s.host}`;
    await createNs(ns);
    await vethPair(gwNs, s.iface, ns, 'eth0', queues);
    await nsRun(ns, 'ip', ['addr', 'add', `${s.subnet}.2/24`, 'dev', 'eth0']);
    await nsRun(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    await nsRun(gwNs, 'ip', ['link', 'set', s.iface, 'up']);
    await nsRun(ns, 'ip', ['route', 'add', 'default', 'via', `${s.subnet}.1`]);
    const host: Host = {
      ns,
      iface: 'eth0',
      ip: `${s.subnet}.2`,
      prefixLen: 24,
      mac: await macOf(ns, 'eth0'),
      gateway: `${s.subnet}.1`,
    };
    lab.hosts.push(host);
    lab.ports.push({ iface: s.iface, ip: `${s.subnet}.1`, prefixLen: 24, peer: host });
  }
  return lab;
}

/**
 * Makes the gateway namespace a Linux router for the same topology (the
 * benchmark baseline) or undoes it. The gateway must not run meanwhile.
 */
export async function kernelRouting(lab: Lab, on: boolean): Promise<void> {
  for (const p of lab.ports) {
    await nsRun(lab.gwNs, 'ip', ['addr', on ? 'add' : 'del', `${p.ip}/${p.prefixLen}`, 'dev', p.iface], {
      allowFail: !on,
    });
  }
  await sysctl(lab.gwNs, `net.ipv4.ip_forward=${on ? 1 : 0}`);
  for (const h of lab.hosts) await nsRun(h.ns, 'ip', ['neigh', 'flush', 'all'], { allowFail: true });
}

/** A gateway configuration for the lab: its ports in the lab's gateway namespace. */
export function labGatewayConfig(
  lab: Lab,
  opts: { type?: 'af_xdp' | 'af_packet'; workers?: { core?: number; pollMode?: 'busy' | 'adaptive' }[] } = {},
) {
  const workers = opts.workers ?? [{ pollMode: 'adaptive' as const }];
  return {
    workers,
    ports: lab.ports.map((p, i) => ({
      name: i === 0 ? 'lan-a' : 'lan-b',
      type: opts.type ?? ('af_xdp' as const),
      interface: p.iface,
      netns: lab.gwNs,
      addresses: [`${p.ip}/${p.prefixLen}`],
    })),
  };
}
