// `nfvgw lab up|down|list`: the network-namespace topologies the tests and
// the demo use, for trying the gateway by hand.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { labDown, labGatewayConfig, labUp, SCENARIOS } from '../lab/topology.js';
import { vpcLabUp } from '../lab/vpc.js';
import { VPC_SCENARIO, vpcScenarioConfig } from '../lab/vpc-scenario.js';

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
  if (action !== 'up') {
    throw new Error('usage: nfvgw lab up|down|list [--scenario NAME] [--prefix P] [--queues N]');
  }
  const scenario = opts.scenario ?? 'l3';
  if (!(scenario in SCENARIOS))
    throw new Error(`unknown scenario ${scenario}: ${Object.keys(SCENARIOS).join(', ')}`);
  const out = opts.out ?? join(tmpdir(), `${prefix}-lab.yaml`);
  const header = `# nfvgw configuration for the lab "${prefix}" (scenario ${scenario})\n`;
  const type = opts.type ?? 'af_xdp';

  if (scenario === 'vpc') {
    const lab = await vpcLabUp({ ...VPC_SCENARIO, prefix, internet: { hosts: ['8.8.8.8'] } });
    writeFileSync(out, header + stringify(vpcScenarioConfig(lab, { type })));
    console.log(
      `lab ${prefix} is up (scenario vpc): gateway ${lab.gwNs}:${lab.gwIface} ${lab.gwIp} on underlay ${lab.ulNs}`,
    );
    for (const [name, hv] of lab.hypervisors) console.log(`  hypervisor ${name}: ${hv.ns} ${hv.ip}`);
    for (const vm of lab.vms.values())
      console.log(`  VM ${vm.name}: ${vm.ns} ${vm.ip} (VNI ${vm.vni}, on ${vm.hv})`);
    const inet = lab.internet!;
    console.log(
      `  internet: ${inet.ns} ${inet.routerIp} (8.8.8.8 on it), via the gateway's ${inet.gwIface} ${inet.gwIp}`,
    );
  } else {
    const queues = opts.queues ?? 1;
    const lab = await labUp({ prefix, queues });
    const workers = Array.from({ length: queues }, () => ({ pollMode: 'adaptive' as const }));
    writeFileSync(out, header + stringify(labGatewayConfig(lab, { type, workers })));
    console.log(`lab ${prefix} is up (scenario l3, ${queues} queue(s) per link):`);
    for (const p of lab.ports) {
      console.log(
        `  ${lab.gwNs}:${p.iface}  <->  ${p.peer.ns}:${p.peer.iface} ${p.peer.ip}/${p.peer.prefixLen} (via ${p.ip})`,
      );
    }
  }
  const [from, to] = scenario === 'vpc' ? [`${prefix}-a1`, '10.1.2.10'] : [`${prefix}-h1`, '10.11.2.2'];
  console.log(`gateway configuration: ${out}`);
  console.log(`next:   nfvgw run --config ${out}`);
  console.log(`        ip netns exec ${from} ping ${to}`);
  console.log(`finally: nfvgw lab down${prefix === 'nfvgw' ? '' : ` --prefix ${prefix}`}`);
}
