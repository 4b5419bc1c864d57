// Writes the pipeline fuzzer's configuration as C++: test/fuzz/config.ts,
// validated and compiled by the real control plane (validateConfig,
// compile), then turned into the GatewaySpec facts and the SnapshotSpec
// the data plane would receive, field for field as native/napi/convert.cc
// converts them. The fuzzer so runs on exactly the tables a gateway with
// this configuration has, and the regression tests can start one.
//
//   node <compiled>/test/fuzz/spec-header.js OUT.h [OUT.dict]
//
// and, with a second argument, a libFuzzer dictionary of the
// configuration's MACs, addresses and ports.
//
// (scripts/fuzz.sh compiles it with tsc; CMake runs it when NFVGW_FUZZ is on.)
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { compile } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/validate.js';
import type {
  AclRuleSpec,
  OverlaySpec,
  RouteArrays,
  SgRuleSpec,
  SnapshotSpec,
} from '../../src/dataplane/native.js';
import { fuzzConfig } from './config.js';

const u32 = (n: number) => `${n >>> 0}u`;
const mac = (m: string) =>
  `{${m
    .split(':')
    .map((b) => `0x${b}`)
    .join(', ')}}`;
const list = <T>(xs: readonly T[], f: (x: T) => string) => xs.map(f).join(', ');

const NH_KIND: Record<SnapshotSpec['nexthops'][number]['kind'], string> = {
  none: 'kNoRoute',
  local: 'kLocal',
  connected: 'kConnected',
  via: 'kVia',
  blackhole: 'kBlackhole',
  unreachable: 'kUnreachable',
  lb: 'kLoadBalancer',
};
const TARGET_KIND: Record<OverlaySpec['targets'][number]['kind'], string> = {
  none: 'kNone',
  local: 'kLocal',
  peering: 'kPeering',
  transit: 'kTransit',
  eni: 'kEni',
  blackhole: 'kBlackhole',
  attachment: 'kAttachment',
  nat: 'kNat',
  igw: 'kIgw',
};
const LB_MODE = { dr: 'kDr', nat: 'kNat', fullnat: 'kFullNat', tunnel: 'kTunnel' } as const;
const LB_SCHED = {
  maglev: 'kMaglev',
  rr: 'kRoundRobin',
  wrr: 'kWeightedRoundRobin',
  lc: 'kLeastConn',
  sh: 'kSourceHash',
} as const;
// ConnSettings::timeout_ms, in ConnState order (convert.cc kStateFields).
const STATE_FIELDS = [
  'tcpSynSent',
  'tcpSynRecv',
  'tcpEstablished',
  'tcpFinWait',
  'tcpCloseWait',
  'tcpTimeWait',
  'tcpClose',
  'udpUnreplied',
  'udpReplied',
] as const;

function routes(a: RouteArrays, into: string): string[] {
  return Array.from(
    a.table,
    (t, i) => `  ${into}.push_back({${u32(t)}, ${u32(a.prefix[i]!)}, ${a.length[i]}, ${u32(a.target[i]!)}});`,
  );
}

// As convert.cc aclRules: the mask from the length, the prefix masked.
function aclRule(r: AclRuleSpec): string {
  const mask = r.length === 0 ? 0 : (~0 << (32 - r.length)) >>> 0;
  return `{${r.allow}, ${r.proto}, ${r.portLo}, ${r.portHi}, ${u32(r.prefix & mask)}, ${u32(mask)}}`;
}
const sgRule = (r: SgRuleSpec) => `{${r.proto}, ${r.portLo}, ${r.portHi}, ${u32(r.prefix)}, ${r.length}}`;

function overlay(o: OverlaySpec): string[] {
  const out = [
    '  OverlaySpec o;',
    `  o.port = ${o.port};`,
    `  o.vtep_ip = ${u32(o.vtepIp)};`,
    `  o.udp_port = ${o.udpPort};`,
    `  { const uint8_t m[6] = ${mac(o.routerMac)}; std::memcpy(o.router_mac, m, 6); }`,
    `  o.vnis = {${list(o.vnis, u32)}};`,
  ];
  for (const s of o.subnets)
    out.push(
      `  o.subnets.push_back({${s.vpc}, ${u32(s.prefix)}, ${s.length}, ${u32(s.gateway)}, ${s.routeTable}, ${s.acl}});`,
    );
  for (const e of o.enis) {
    out.push(
      `  { OverlaySpec::EniSpec e{}; e.vpc = ${e.vpc}; e.subnet = ${e.subnet};` +
        ` const uint8_t m[6] = ${mac(e.mac)}; std::memcpy(e.mac, m, 6); e.vtep = ${u32(e.vtep)};` +
        ` e.ips = {${list(e.ips, u32)}}; e.sg_set = ${e.sgSet}; o.enis.push_back(std::move(e)); }`,
    );
  }
  for (const t of o.targets)
    out.push(
      `  { OverlayTarget t; t.kind = OverlayKind::${TARGET_KIND[t.kind]}; t.vpc = ${t.vpc ?? 0}; t.tgw = ${t.tgw ?? 0};` +
        ` t.eni = ${t.eni ?? 0}; t.nat = ${t.nat ?? 0}; o.targets.push_back(t); }`,
    );
  out.push(`  o.route_tables = ${o.routeTables};`, ...routes(o.routes, 'o.routes'));
  out.push(`  o.transit_gateways = ${o.transitGateways};`, ...routes(o.transitRoutes, 'o.transit_routes'));
  for (const a of o.acls)
    out.push(`  o.acls.push_back({{${list(a.inbound, aclRule)}}, {${list(a.outbound, aclRule)}}});`);
  for (const s of o.sgSets)
    out.push(`  o.sg_sets.push_back({{${list(s.inbound, sgRule)}}, {${list(s.outbound, sgRule)}}});`);
  out.push(`  o.uplink = ${o.uplink};`);
  for (const n of o.natGateways)
    out.push(`  o.nat_gateways.push_back({${n.vpc}, {${list(n.ips, u32)}}, ${n.portLo}, ${n.portHi}});`);
  for (const f of o.portForwards)
    out.push(
      `  o.port_forwards.push_back({${u32(f.publicIp)}, ${f.proto}, ${f.publicPort}, ${f.eni}, ${u32(f.privateIp)}, ${f.privatePort}});`,
    );
  for (const e of o.eips)
    out.push(`  o.eips.push_back({${u32(e.publicIp)}, ${e.eni}, ${u32(e.privateIp)}});`);
  out.push('  s.overlay = std::move(o);');
  return out;
}

export function specHeader(): string {
  const cfg = validateConfig(fuzzConfig);
  const { spec, snapshot: snap } = compile(cfg, { bpfDir: '', generation: 1 });
  const body: string[] = [
    `  f.workers = ${spec.workers.length};`,
    `  f.burst = ${spec.burst};`,
    `  f.conntrack_capacity = ${spec.conntrackCapacity ?? 262144};`,
  ];
  for (const p of spec.ports) {
    // The identity of a mem port: its MAC and MTU as convert.cc reads them
    // (the GatewaySpec carries no MTU: 1500).
    body.push(`  f.ports.push_back(PortIdentity{"${p.name}", ${mac(p.mac!)}, 1500});`);
  }
  body.push('  SnapshotSpec& s = f.snapshot;', `  s.generation = ${snap.generation};`);
  for (const p of snap.ports)
    body.push(
      `  s.ports.push_back({${p.mtu}, ${p.vlan}, {${list(p.addresses, (a) => `{${u32(a.ip)}, ${a.prefixLen}}`)}}});`,
    );
  for (const h of snap.nexthops)
    body.push(
      `  { NextHop h; h.kind = NhKind::${NH_KIND[h.kind]}; h.port = ${h.port ?? 0}; h.gateway = ${u32(h.gateway ?? 0)};` +
        ` h.bcast = ${u32(h.broadcast ?? 0)}; s.nexthops.push_back(h); }`,
    );
  snap.routes.prefix.forEach((p, i) => {
    body.push(
      `  s.routes.push_back({${u32(p)}, ${snap.routes.length[i]}, ${u32(snap.routes.nexthop[i]!)}});`,
    );
  });
  for (const n of snap.neighbors)
    body.push(`  s.neighbors.push_back({${n.port}, ${u32(n.ip)}, ${mac(n.mac)}});`);
  const t = snap.neighborTimers;
  body.push(
    `  s.neighbor.reachable_ns = ${t.reachableMs}ull * 1000000;`,
    `  s.neighbor.expire_ns = ${t.expireMs}ull * 1000000;`,
    `  s.neighbor.retry_ns = ${t.retryMs}ull * 1000000;`,
    `  s.icmp.errors_per_sec = ${snap.icmp.errorsPerSecond};`,
    `  s.icmp.burst = ${snap.icmp.burst};`,
  );
  const ct = snap.conntrack!;
  STATE_FIELDS.forEach((k, i) => {
    body.push(`  s.conntrack.timeout_ms[${i}] = ${ct[k]};`);
  });
  body.push(`  s.conntrack.icmp_ms = ${ct.icmp};`);
  if (snap.overlay) body.push(...overlay(snap.overlay));
  for (const v of snap.lb?.services ?? []) {
    body.push(
      `  s.lb.services.push_back({${u32(v.vni)}, ${u32(v.vip)}, ${v.port}, ${v.proto}, LbMode::${LB_MODE[v.mode]},` +
        ` LbScheduler::${LB_SCHED[v.scheduler]}, ${v.tableSize}, ${v.useAllWhenDown}, ${v.affinityMs}, {${list(v.localIps, u32)}},` +
        ` {${list(v.backends, (b) => `{${u32(b.ip)}, ${b.port}, ${b.weight}, ${b.up}, ${b.slot}}`)}}});`,
    );
  }
  return [
    '// Generated by test/fuzz/spec-header.ts from test/fuzz/config.ts: do not edit.',
    '#pragma once',
    '',
    '#include <cstring>',
    '#include <vector>',
    '',
    '#include "dataplane/snapshot.h"',
    '',
    'namespace nfvgw::fuzz {',
    '',
    'struct Setup {',
    '  uint32_t workers = 1;',
    '  uint32_t burst = 32;',
    '  uint32_t conntrack_capacity = 0;',
    '  std::vector<PortIdentity> ports;',
    '  SnapshotSpec snapshot;',
    '};',
    '',
    'inline Setup setup() {',
    '  Setup f;',
    ...body,
    '  return f;',
    '}',
    '',
    '}  // namespace nfvgw::fuzz',
    '',
  ].join('\n');
}

/**
 * A libFuzzer dictionary of what the pipeline compares packets against:
 * the input separator, the MACs and addresses of the configuration (as
 * they appear on the wire), VNIs, service ports.
 */
export function dictionary(): string {
  const cfg = validateConfig(fuzzConfig);
  const { spec, snapshot: snap } = compile(cfg, { bpfDir: '', generation: 1 });
  const words = new Set<string>();
  const hex = (bytes: number[]) => `"${bytes.map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}"`;
  const macWord = (m: string) => words.add(hex(m.split(':').map((b) => Number.parseInt(b, 16))));
  const ipWord = (ip: number) => words.add(hex([ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255]));
  const portWord = (port: number) => port > 0 && words.add(hex([port >> 8, port & 255]));
  words.add('"NFVG"');
  for (const p of spec.ports) macWord(p.mac!);
  for (const n of snap.neighbors) {
    macWord(n.mac);
    ipWord(n.ip);
  }
  for (const p of snap.ports) for (const a of p.addresses) ipWord(a.ip);
  const o = snap.overlay;
  if (o) {
    macWord(o.routerMac);
    portWord(o.udpPort);
    for (const v of o.vnis) words.add(hex([v >> 16, (v >> 8) & 255, v & 255]));
    for (const e of o.enis) {
      macWord(e.mac);
      e.ips.forEach(ipWord);
      if (e.vtep) ipWord(e.vtep);
    }
    for (const n of o.natGateways) n.ips.forEach(ipWord);
    for (const f of o.portForwards) portWord(f.publicPort);
    for (const e of o.eips) ipWord(e.publicIp);
  }
  for (const v of snap.lb?.services ?? []) {
    ipWord(v.vip);
    portWord(v.port);
    v.localIps.forEach(ipWord);
    for (const b of v.backends) {
      ipWord(b.ip);
      portWord(b.port);
    }
  }
  return `# Generated by test/fuzz/spec-header.ts from test/fuzz/config.ts: do not edit.\n${[...words].join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [header, dict] = process.argv.slice(2);
  if (!header) throw new Error('usage: spec-header.js OUT.h [OUT.dict]');
  writeFileSync(header, specHeader());
  if (dict) writeFileSync(dict, dictionary());
}
