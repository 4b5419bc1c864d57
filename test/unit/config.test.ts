// Configuration validation and compilation, without a gateway: every
// problem is reported with its JSON path and reason, defaults are filled
// in, and the compiled tables are what the data plane expects.
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/config/compile.js';
import { parseConfigText } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';
import { NfvgwError } from '../../src/core/errors.js';

const base = {
  ports: [
    { name: 'lan', type: 'mem', addresses: ['10.0.1.1/24'] },
    { name: 'wan', type: 'mem', addresses: ['192.0.2.1/24'] },
  ],
};

function problems(input: unknown): { path: string; message: string }[] {
  try {
    validateConfig(input);
  } catch (e) {
    expect(e).toBeInstanceOf(NfvgwError);
    expect((e as NfvgwError).code).toBe('NFVGW_ERR_CONFIG_INVALID');
    return (e as NfvgwError).details;
  }
  throw new Error('expected the configuration to be refused');
}

describe('configuration validation', () => {
  it('fills in the defaults and freezes the result', () => {
    const cfg = validateConfig(base);
    expect(cfg.workers).toEqual([{ pollMode: 'adaptive' }]);
    expect(cfg.burst).toBe(32);
    expect(cfg.hugepages).toBe('auto');
    expect(cfg.ports[0]).toMatchObject({ xdpMode: 'auto', zeroCopy: 'auto', ringSize: 2048 });
    expect(cfg.icmp).toEqual({ errorsPerSecond: 1000, burst: 50 });
    expect(Object.isFrozen(cfg.ports[0])).toBe(true);
  });

  const cases: [string, unknown, { path: string; message: RegExp }][] = [
    ['a missing port list', {}, { path: '$.ports', message: /expected array/ }],
    ['an unknown field', { ...base, colour: 'blue' }, { path: '$.colour', message: /unknown field/ }],
    [
      'an unknown field in a port',
      { ports: [{ ...base.ports[0], speed: 10 }] },
      { path: '$.ports[0].speed', message: /unknown field/ },
    ],
    ['a wrong type', { ...base, burst: 'fast' }, { path: '$.burst', message: /expected number/ }],
    ['a value out of range', { ...base, burst: 65 }, { path: '$.burst', message: /64/ }],
    [
      'an unknown port type',
      { ports: [{ name: 'x', type: 'dpdk' }] },
      { path: '$.ports[0].type', message: /af_xdp/ },
    ],
    [
      'a bad address',
      { ports: [{ name: 'x', type: 'mem', addresses: ['10.0.1.300/24'] }] },
      { path: '$.ports[0].addresses[0]', message: /IPv4 prefix/ },
    ],
    [
      'a ring size that is not a power of two',
      { ports: [{ name: 'x', type: 'af_xdp', interface: 'eth0', ringSize: 1000 }] },
      { path: '$.ports[0].ringSize', message: /power of two/ },
    ],
    [
      'a duplicate port name',
      { ports: [base.ports[0], { ...base.ports[1], name: 'lan' }] },
      { path: '$.ports[1].name', message: /already used by ports\[0\]/ },
    ],
    [
      'an interface port without an interface',
      { ports: [{ name: 'x', type: 'af_xdp' }] },
      { path: '$.ports[0].interface', message: /need an interface/ },
    ],
    [
      'the same interface twice',
      {
        ports: [
          { name: 'a', type: 'af_packet', interface: 'eth0' },
          { name: 'b', type: 'af_xdp', interface: 'eth0' },
        ],
      },
      { path: '$.ports[1].interface', message: /already ports\[0\]/ },
    ],
    [
      'overlapping subnets on two ports',
      { ports: [base.ports[0], { name: 'b', type: 'mem', addresses: ['10.0.1.9/16'] }] },
      { path: '$.ports[1].addresses[0]', message: /overlaps 10.0.1.1\/24 at ports\[0\].addresses\[0\]/ },
    ],
    [
      'a network address as the gateway address',
      { ports: [{ name: 'x', type: 'mem', addresses: ['10.0.1.0/24'] }] },
      { path: '$.ports[0].addresses[0]', message: /network or broadcast/ },
    ],
    [
      'a route with host bits set',
      { ...base, routes: [{ destination: '10.9.0.1/16', via: '192.0.2.254' }] },
      { path: '$.routes[0].destination', message: /did you mean 10.9.0.0\/16/ },
    ],
    [
      'a next hop on no port',
      { ...base, routes: [{ destination: '0.0.0.0/0', via: '172.16.0.1' }] },
      { path: '$.routes[0].via', message: /not on a subnet of any port/ },
    ],
    [
      'a next hop on another port than the one named',
      { ...base, routes: [{ destination: '0.0.0.0/0', via: '192.0.2.254', port: 'lan' }] },
      { path: '$.routes[0].via', message: /not on a subnet of port lan/ },
    ],
    [
      'a route to an unknown port',
      { ...base, routes: [{ destination: '10.5.0.0/16', port: 'dmz' }] },
      { path: '$.routes[0].port', message: /no port is named dmz/ },
    ],
    [
      'a unicast route with neither via nor port',
      { ...base, routes: [{ destination: '10.5.0.0/16' }] },
      { path: '$.routes[0]', message: /needs via/ },
    ],
    [
      'a duplicate destination',
      {
        ...base,
        routes: [
          { destination: '10.5.0.0/16', via: '192.0.2.254' },
          { destination: '10.5.0.0/16', type: 'blackhole' },
        ],
      },
      { path: '$.routes[1].destination', message: /already routed by routes\[0\]/ },
    ],
    [
      'a static neighbor off the port subnet',
      { ...base, neighbors: [{ port: 'lan', address: '192.0.2.5', mac: '02:00:00:00:00:09' }] },
      { path: '$.neighbors[0].address', message: /not on a subnet of port lan/ },
    ],
    [
      'a worker on a core that does not exist',
      { ...base, workers: [{ core: 4095 }] },
      { path: '$.workers[0].core', message: /does not exist/ },
    ],
    [
      'two workers on one core',
      { ...base, workers: [{ core: 0 }, { core: 0 }] },
      { path: '$.workers[1].core', message: /already used by workers\[0\]/ },
    ],
  ];
  for (const [name, input, expected] of cases) {
    it(`refuses ${name}`, () => {
      const found = problems(input);
      expect(found).toContainEqual({ path: expected.path, message: expect.stringMatching(expected.message) });
    });
  }

  it('reports every problem at once', () => {
    const found = problems({ ports: [{ name: 'X', type: 'nope', extra: 1 }], burst: 0 });
    expect(found.map((d) => d.path).sort()).toEqual([
      '$.burst',
      '$.ports[0].extra',
      '$.ports[0].name',
      '$.ports[0].type',
    ]);
  });
});

describe('configuration text', () => {
  it('reads YAML and JSON alike', () => {
    const yaml = parseConfigText('ports:\n  - name: lan\n    type: mem\n');
    const json = parseConfigText('{"ports": [{"name": "lan", "type": "mem"}]}');
    expect(yaml).toEqual(json);
  });

  it('says where a syntax error is', () => {
    try {
      parseConfigText('ports:\n  - name: lan\n   type: [mem\n');
      throw new Error('expected a parse error');
    } catch (e) {
      expect((e as NfvgwError).code).toBe('NFVGW_ERR_CONFIG_PARSE');
      expect((e as NfvgwError).details[0]!.path).toMatch(/^line \d+, column \d+$/);
    }
  });

  it('refuses duplicate keys', () => {
    expect(() => parseConfigText('burst: 1\nburst: 2\n')).toThrow(/not valid YAML/);
  });
});

describe('compilation', () => {
  it('derives connected and local routes and shares next hops', () => {
    const cfg = validateConfig({
      ...base,
      routes: [
        { destination: '0.0.0.0/0', via: '192.0.2.254' },
        { destination: '10.9.0.0/16', via: '192.0.2.254' },
        { destination: '198.51.100.0/24', type: 'blackhole' },
      ],
      neighbors: [{ port: 'wan', address: '192.0.2.254', mac: '02:AA:00:00:00:01' }],
    });
    const c = compile(cfg, { bpfDir: '/x', generation: 7 });
    expect(c.snapshot.generation).toBe(7);
    expect(c.snapshot.nexthops[0]).toEqual({ kind: 'none' });
    const view = c.routes.map((r) => `${r.prefix}/${r.length} ${r.kind} ${r.origin}`);
    expect(view).toEqual([
      `${0x0a000100}/24 connected connected`,
      `${0x0a000101}/32 local local`,
      `${0xc0000200}/24 connected connected`,
      `${0xc0000201}/32 local local`,
      '0/0 via config',
      `${0x0a090000}/16 via config`,
      `${0xc6336400}/24 blackhole config`,
    ]);
    // Both via routes share one next hop.
    expect(c.snapshot.routes.nexthop[4]).toBe(c.snapshot.routes.nexthop[5]);
    expect(c.snapshot.nexthops[c.snapshot.routes.nexthop[4]!]).toEqual({
      kind: 'via',
      port: 1,
      gateway: 0xc00002fe,
    });
    expect(c.snapshot.nexthops[c.snapshot.routes.nexthop[0]!]).toEqual({
      kind: 'connected',
      port: 0,
      broadcast: 0x0a0001ff,
    });
    expect(c.snapshot.neighbors).toEqual([{ port: 1, ip: 0xc00002fe, mac: '02:aa:00:00:00:01' }]);
    expect(c.spec.ports.map((p) => p.mac)).toEqual(['02:00:00:00:00:01', '02:00:00:00:00:02']);
  });
});

describe('examples', () => {
  it('examples/lab.yaml is valid', async () => {
    const { loadConfigFile } = await import('../../src/config/load.js');
    expect(validateConfig(await loadConfigFile('examples/lab.yaml')).ports).toHaveLength(2);
  });

  it('examples/gateway.yaml is valid (on a machine with its cores)', async () => {
    const { loadConfigFile } = await import('../../src/config/load.js');
    const doc = (await loadConfigFile('examples/gateway.yaml')) as { workers: { core?: number }[] };
    const cfg = validateConfig({ ...doc, workers: doc.workers.map(({ core: _core, ...w }) => w) });
    expect(cfg.routes).toHaveLength(3);
  });

  it('examples/lb.yaml is valid and compiles into load-balancer tables', async () => {
    const { loadConfigFile } = await import('../../src/config/load.js');
    const cfg = validateConfig(await loadConfigFile('examples/lb.yaml'));
    const lb = compile(cfg, { bpfDir: '/nonexistent', generation: 1 }).snapshot.lb!;
    expect(lb.services.map((s) => s.mode)).toEqual(['dr', 'nat', 'fullnat', 'tunnel']);
    expect(lb.services.map((s) => s.backends.length)).toEqual([3, 2, 2, 2]);
    expect(lb.services[1]!.backends.map((b) => b.port)).toEqual([8443, 8443]);
  });

  it('examples/bare-metal.yaml is valid (on a machine with cores 0 and 1) and compiles', async () => {
    const { loadConfigFile } = await import('../../src/config/load.js');
    const cfg = validateConfig(await loadConfigFile('examples/bare-metal.yaml'));
    expect(cfg.workers).toEqual([
      { core: 0, pollMode: 'busy' },
      { core: 1, pollMode: 'busy' },
    ]);
    expect(cfg.hugepages).toBe('require');
    expect(cfg.ports.map((p) => [p.type, p.interface, p.xdpMode, p.zeroCopy])).toEqual([
      ['af_xdp', 'ens1f0np0', 'native', 'on'],
      ['af_xdp', 'ens1f1np1', 'native', 'on'],
    ]);
    const { snapshot } = compile(cfg, { bpfDir: '/nonexistent', generation: 1 });
    expect(snapshot.overlay!.vnis).toEqual([2001, 2002]);
    expect(snapshot.overlay!.enis).toHaveLength(4);
    expect(snapshot.overlay!.natGateways).toHaveLength(2);
    expect(snapshot.overlay!.eips).toHaveLength(1);
    expect(snapshot.lb!.services.map((s) => [s.mode, s.backends.length])).toEqual([['fullnat', 3]]);
  });

  it('examples/vpc.yaml is valid and compiles into overlay tables', async () => {
    const { loadConfigFile } = await import('../../src/config/load.js');
    const cfg = validateConfig(await loadConfigFile('examples/vpc.yaml'));
    expect(cfg.vpcs.map((v) => v.vni)).toEqual([1001, 1002, 1003]);
    expect(cfg.enis).toHaveLength(5);
    const overlay = compile(cfg, { bpfDir: '/nonexistent', generation: 1 }).snapshot.overlay!;
    expect(overlay.vnis).toEqual([1001, 1002, 1003]);
    expect(overlay.enis).toHaveLength(5);
    // Each of the 4 tables gets its VPC's CIDR as a local route, plus the 9 written.
    expect(overlay.routes.table).toHaveLength(13);
    expect(overlay.natGateways).toEqual([
      { vpc: 0, ips: [0xc633640a, 0xc633640b], portLo: 1024, portHi: 65535 },
    ]);
    expect(overlay.portForwards).toHaveLength(2);
    expect(overlay.eips).toHaveLength(1);
    // One rule set per distinct group combination; sg-web's group rule became the web ENIs' /32s.
    expect(overlay.sgSets).toHaveLength(3);
    expect(overlay.sgSets[0]!.inbound.filter((r) => r.length === 32)).toHaveLength(4);
  });
});
