// `nfvgw lab up|down|list`: the network-namespace topologies the tests and
// the demo use, for trying the gateway by hand.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { labDown, labGatewayConfig, labUp, SCENARIOS, type Scenario } from '../lab/topology.js';

export async function labCommand(
  action: string | undefined,
  opts: { scenario?: string; prefix?: string; queues?: number; type?: 'af_xdp' | 'af_packet'; out?: string },
): Promise<void> {
  const prefix = opts.prefix ?? 'nfvgw';
  if (action === 'down') {
    const removed = await labDown(prefix);
    console.log(removed.length ? `removed ${removed.join(', ')}` : `no lab named ${prefix}`);
    return;
  }
  if (action === 'list') {
    for (const [name, what] of Object.entries(SCENARIOS)) console.log(`${name}\t${what}`);
    return;
  }
  if (action !== 'up')
    throw new Error('usage: nfvgw lab up|down|list [--scenario NAME] [--prefix P] [--queues N]');
  const queues = opts.queues ?? 1;
  const lab = await labUp({ prefix, scenario: (opts.scenario ?? 'l3') as Scenario, queues });
  const workers = Array.from({ length: queues }, () => ({ pollMode: 'adaptive' as const }));
  const config = labGatewayConfig(lab, { type: opts.type ?? 'af_xdp', workers });
  const out = opts.out ?? join(tmpdir(), `${prefix}-lab.yaml`);
  writeFileSync(
    out,
    `# nfvgw configuration for the lab "${prefix}" (scenario ${lab.scenario})\n${stringify(config)}`,
  );
  console.log(`lab ${prefix} is up (scenario ${lab.scenario}, ${queues} queue(s) per link):`);
  for (const p of lab.ports)
    console.log(
      `  ${lab.gwNs}:${p.iface}  <->  ${p.peer.ns}:${p.peer.iface} ${p.peer.ip}/${p.peer.prefixLen} (via ${p.ip})`,
    );
  console.log(`gateway configuration: ${out}`);
  console.log(`next:   nfvgw run --config ${out}`);
  console.log(`        ip netns exec ${lab.hosts[0]!.ns} ping ${lab.hosts[1]!.ip}`);
  console.log(`finally: nfvgw lab down${prefix === 'nfvgw' ? '' : ` --prefix ${prefix}`}`);
}
