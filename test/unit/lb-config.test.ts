// Validation and compilation of the load balancers: each problem refused
// with its JSON path, VIPs routed as `lb`, backends given stable slots.
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/config/compile.js';
import { BackendSlots } from '../../src/config/compile-lb.js';
import { validateConfig } from '../../src/config/validate.js';
import type { NfvgwError } from '../../src/core/errors.js';

const base = () => ({
  ports: [
    { name: 'front', type: 'mem', addresses: ['10.70.0.1/24'] },
    { name: 'back', type: 'mem', addresses: ['10.80.0.1/24'] },
  ],
  loadBalancers: [
    {
      id: 'web',
      vip: '10.90.0.1',
      protocol: 'tcp',
      port: 80,
      mode: 'dr',
      backends: [{ ip: '10.80.0.11' }, { ip: '10.80.0.12', weight: 3 }],
      healthCheck: { type: 'http', path: '/healthz' },
    },
    {
      id: 'api',
      vip: '10.90.0.2',
      protocol: 'tcp',
      port: 443,
      mode: 'fullnat',
      localIps: ['10.80.0.200'],
      backends: [{ ip: '10.99.0.5', port: 8443 }],
    },
  ],
});

type Doc = ReturnType<typeof base>;

function problems(edit: (c: Doc & Record<string, unknown>) => void): { path: string; message: string }[] {
  const c = base() as Doc & Record<string, unknown>;
  edit(c);
  try {
    validateConfig(c);
  } catch (e) {
    return (e as NfvgwError).details as { path: string; message: string }[];
  }
  return [];
}

describe('load balancer validation', () => {
  it('accepts a valid document and fills the defaults', () => {
    const cfg = validateConfig(base());
    expect(cfg.loadBalancers[0]).toMatchObject({ scheduler: 'maglev', allBackendsDown: 'drop' });
    expect(cfg.loadBalancers[0]!.healthCheck).toMatchObject({
      intervalMs: 2000,
      rise: 2,
      fall: 3,
      expectStatus: [200],
    });
  });

  it.each([
    [
      'a second service on the same VIP, protocol and port',
      (c: Doc) => {
        c.loadBalancers[1]!.vip = '10.90.0.1';
        c.loadBalancers[1]!.port = 80;
      },
      '$.loadBalancers[1].port',
      /already served by web/,
    ],
    [
      'a VIP that is an address of a port',
      (c: Doc) => {
        c.loadBalancers[0]!.vip = '10.70.0.1';
      },
      '$.loadBalancers[0].vip',
      /address of a port/,
    ],
    [
      "a direct-routing backend off the ports' subnets",
      (c: Doc) => {
        c.loadBalancers[0]!.backends[0]!.ip = '10.99.0.1';
      },
      '$.loadBalancers[0].backends[0].ip',
      /same link/,
    ],
    [
      'a port on a direct-routing backend',
      (c: Doc) => {
        (c.loadBalancers[0]!.backends[0] as { port?: number }).port = 8080;
      },
      '$.loadBalancers[0].backends[0].port',
      /keeps the client's destination port/,
    ],
    [
      'fullnat without local addresses',
      (c: Doc) => {
        c.loadBalancers[1]!.localIps = [];
      },
      '$.loadBalancers[1].localIps',
      /at least one local address/,
    ],
    [
      'a table size that is not a prime',
      (c: Doc) => {
        (c.loadBalancers[0] as { tableSize?: number }).tableSize = 65536;
      },
      '$.loadBalancers[0].tableSize',
      /not a prime/,
    ],
    [
      'a health check slower than its interval',
      (c: Doc) => {
        Object.assign(c.loadBalancers[0]!.healthCheck!, { intervalMs: 500, timeoutMs: 1000 });
      },
      '$.loadBalancers[0].healthCheck.timeoutMs',
      /intervalMs/,
    ],
    [
      'the same backend twice',
      (c: Doc) => {
        c.loadBalancers[0]!.backends[1]!.ip = '10.80.0.11';
      },
      '$.loadBalancers[0].backends[1]',
      /already backends\[0\]/,
    ],
    [
      'an unknown mode',
      (c: Doc) => {
        c.loadBalancers[0]!.mode = 'magic';
      },
      '$.loadBalancers[0].mode',
      /./,
    ],
    [
      'a MAC on a backend that is not dr',
      (c: Doc) => {
        (c.loadBalancers[1]!.backends[0] as { mac?: string }).mac = '02:b0:00:00:00:05';
      },
      '$.loadBalancers[1].backends[0].mac',
      /only dr backends take a MAC/,
    ],
    [
      "a backend's MAC other than its neighbor entry's",
      (c: Doc & Record<string, unknown>) => {
        c.neighbors = [{ port: 'back', address: '10.80.0.11', mac: '02:b0:00:00:00:11' }];
        (c.loadBalancers[0]!.backends[0] as { mac?: string }).mac = '02:b0:00:00:00:99';
      },
      '$.loadBalancers[0].backends[0].mac',
      /is 02:b0:00:00:00:11 in neighbors\[0\]/,
    ],
  ])('refuses %s', (_what, edit, path, message) => {
    const p = problems(edit as (c: Doc) => void);
    expect(p.map((x) => x.path)).toContain(path);
    expect(p.find((x) => x.path === path)!.message).toMatch(message);
  });

  it('refuses VNIs reserved for the load balancer', () => {
    const p = problems((c) => {
      c.overlay = { port: 'back' };
      c.vpcs = [{ id: 'vpc-a', vni: 16_777_200, cidrs: ['10.1.0.0/16'] }];
    });
    expect(p.map((x) => x.path)).toContain('$.vpcs[0].vni');
  });
});

describe('internal load balancers', () => {
  const vpcDoc = () => ({
    ports: [{ name: 'underlay', type: 'mem', addresses: ['192.168.100.1/24'] }],
    overlay: { port: 'underlay' },
    vpcs: [{ id: 'vpc-a', vni: 1001, cidrs: ['10.1.0.0/16'] }],
    subnets: [{ id: 'web', vpc: 'vpc-a', cidr: '10.1.2.0/24', routeTable: 'rt' }],
    routeTables: [{ id: 'rt', vpc: 'vpc-a' }],
    securityGroups: [{ id: 'sg', vpc: 'vpc-a' }],
    enis: [{ id: 'eni-1', subnet: 'web', mac: '02:00:00:00:00:01', ip: '10.1.2.11', securityGroups: ['sg'] }],
    loadBalancers: [
      {
        id: 'int',
        vpc: 'vpc-a',
        vip: '10.1.3.100',
        protocol: 'tcp',
        port: 80,
        mode: 'nat',
        backends: [{ ip: '10.1.2.11' }],
      },
    ],
  });
  const issues = (edit: (c: ReturnType<typeof vpcDoc>) => void) => {
    const c = vpcDoc();
    edit(c);
    try {
      validateConfig(c);
      return [];
    } catch (e) {
      return (e as NfvgwError).details as { path: string; message: string }[];
    }
  };

  it('takes dr, its backends on the service port or with no port of their own', () => {
    const dr = (c: ReturnType<typeof vpcDoc>) => {
      c.loadBalancers[0]!.mode = 'dr';
      (c.loadBalancers[0]!.backends[0] as { port?: number }).port = 80;
    };
    expect(issues(dr)).toEqual([]);
    const doc = vpcDoc();
    dr(doc);
    const { snapshot } = compile(validateConfig(doc), { bpfDir: '', generation: 1 });
    expect(snapshot.lb!.services[0]).toMatchObject({ vni: 1001, mode: 'dr' });
    expect(snapshot.lb!.services[0]!.backends[0]).toMatchObject({ port: 0 });
  });

  it('takes tunnel, its backends as for dr', () => {
    const tunnel = (c: ReturnType<typeof vpcDoc>) => {
      c.loadBalancers[0]!.mode = 'tunnel';
      (c.loadBalancers[0]!.backends[0] as { port?: number }).port = 80;
    };
    expect(issues(tunnel)).toEqual([]);
    const doc = vpcDoc();
    tunnel(doc);
    const { snapshot, routes } = compile(validateConfig(doc), { bpfDir: '', generation: 1 });
    expect(snapshot.lb!.services[0]).toMatchObject({ vni: 1001, mode: 'tunnel' });
    expect(snapshot.lb!.services[0]!.backends[0]).toMatchObject({ port: 0 });
    expect(routes.filter((r) => r.origin === 'lb')).toEqual([]);
  });

  it.each([
    ['fullnat without local addresses', [], '$.loadBalancers[0].localIps', /at least one local address/],
    ['a local address outside the VPC', ['10.9.0.1'], '$.loadBalancers[0].localIps[0]', /not in vpc-a/],
    [
      "a local address that is an ENI's",
      ['10.1.2.11'],
      '$.loadBalancers[0].localIps[0]',
      /address of an ENI/,
    ],
    ["a local address that is a subnet's gateway", ['10.1.2.1'], '$.loadBalancers[0].localIps[0]', /gateway/],
    ['a local address that is the VIP', ['10.1.3.100'], '$.loadBalancers[0].localIps[0]', /VIP of vpc-a/],
  ])('refuses %s (fullnat)', (_what, localIps: string[], path, message) => {
    const p = issues((c) => {
      c.loadBalancers[0]!.mode = 'fullnat';
      (c.loadBalancers[0] as { localIps?: string[] }).localIps = localIps;
    });
    expect(p.map((x) => x.path)).toContain(path);
    expect(p.find((x) => x.path === path)!.message).toMatch(message);
  });

  it("takes fullnat with free addresses of the VPC as local addresses, and no route for them on the gateway's ports", () => {
    const fullnat = (c: ReturnType<typeof vpcDoc>) => {
      c.loadBalancers[0]!.mode = 'fullnat';
      (c.loadBalancers[0] as { localIps?: string[] }).localIps = ['10.1.3.250', '10.1.2.250'];
    };
    expect(issues(fullnat)).toEqual([]);
    const doc = vpcDoc();
    fullnat(doc);
    const { snapshot, routes } = compile(validateConfig(doc), { bpfDir: '', generation: 1 });
    expect(snapshot.lb!.services[0]).toMatchObject({
      vni: 1001,
      mode: 'fullnat',
      localIps: [0x0a0103fa, 0x0a0102fa],
    });
    expect(routes.filter((r) => r.origin === 'lb')).toEqual([]);
  });

  it("compiles with its VPC, and no route or ARP on the gateway's ports", () => {
    const { snapshot, routes } = compile(validateConfig(vpcDoc()), { bpfDir: '', generation: 1 });
    expect(snapshot.lb!.services[0]).toMatchObject({ vni: 1001, mode: 'nat' });
    expect(routes.filter((r) => r.origin === 'lb')).toEqual([]);
  });

  it.each([
    [
      'a VIP outside the VPC',
      (c: ReturnType<typeof vpcDoc>) => {
        c.loadBalancers[0]!.vip = '10.9.0.1';
      },
      '$.loadBalancers[0].vip',
      /not in vpc-a/,
    ],
    [
      "a VIP that is an ENI's",
      (c: ReturnType<typeof vpcDoc>) => {
        c.loadBalancers[0]!.vip = '10.1.2.11';
      },
      '$.loadBalancers[0].vip',
      /address of an ENI/,
    ],
    [
      "a VIP that is a subnet's gateway",
      (c: ReturnType<typeof vpcDoc>) => {
        c.loadBalancers[0]!.vip = '10.1.2.1';
      },
      '$.loadBalancers[0].vip',
      /gateway/,
    ],
    [
      'a backend that is no ENI',
      (c: ReturnType<typeof vpcDoc>) => {
        c.loadBalancers[0]!.backends[0]!.ip = '10.1.2.99';
      },
      '$.loadBalancers[0].backends[0].ip',
      /not an address of an ENI/,
    ],
    [
      'a tunnel backend on another port',
      (c: ReturnType<typeof vpcDoc>) => {
        c.loadBalancers[0]!.mode = 'tunnel';
        (c.loadBalancers[0]!.backends[0] as { port?: number }).port = 8080;
      },
      '$.loadBalancers[0].backends[0].port',
      /tunnel keeps the client's destination port/,
    ],
    [
      'a MAC on a backend ENI',
      (c: ReturnType<typeof vpcDoc>) => {
        c.loadBalancers[0]!.mode = 'dr';
        (c.loadBalancers[0]!.backends[0] as { mac?: string }).mac = '02:a0:00:00:00:11';
      },
      '$.loadBalancers[0].backends[0].mac',
      /its ENI's MAC/,
    ],
    [
      'a dr backend on another port',
      (c: ReturnType<typeof vpcDoc>) => {
        c.loadBalancers[0]!.mode = 'dr';
        (c.loadBalancers[0]!.backends[0] as { port?: number }).port = 8080;
      },
      '$.loadBalancers[0].backends[0].port',
      /dr keeps the client's destination port/,
    ],
    [
      'local addresses for nat',
      (c: ReturnType<typeof vpcDoc>) => {
        (c.loadBalancers[0] as { localIps?: string[] }).localIps = ['10.1.3.250'];
      },
      '$.loadBalancers[0].localIps',
      /only fullnat/,
    ],
    [
      'a dr backend that is no ENI',
      (c: ReturnType<typeof vpcDoc>) => {
        c.loadBalancers[0]!.mode = 'dr';
        c.loadBalancers[0]!.backends[0]!.ip = '10.1.2.99';
      },
      '$.loadBalancers[0].backends[0].ip',
      /not an address of an ENI/,
    ],
    [
      'an unknown VPC',
      (c: ReturnType<typeof vpcDoc>) => {
        c.loadBalancers[0]!.vpc = 'vpc-z';
      },
      '$.loadBalancers[0].vpc',
      /no VPC/,
    ],
  ])('refuses %s', (_what, edit, path, message) => {
    const p = issues(edit);
    expect(p.map((x) => x.path)).toContain(path);
    expect(p.find((x) => x.path === path)!.message).toMatch(message);
  });
});

describe('load balancer compilation', () => {
  it("makes a dr backend's MAC a static neighbor on the port that reaches it", () => {
    const doc = base();
    (doc.loadBalancers[0]!.backends[0] as { mac?: string }).mac = '02:B0:00:00:00:11';
    const { snapshot } = compile(validateConfig(doc), { bpfDir: '', generation: 1 });
    expect(snapshot.neighbors).toEqual([{ port: 1, ip: 0x0a50000b, mac: '02:b0:00:00:00:11' }]);
  });

  it('routes VIPs and local addresses to the load balancer', () => {
    const { routes } = compile(validateConfig(base()), { bpfDir: '', generation: 1 });
    const lb = routes.filter((r) => r.origin === 'lb');
    expect(lb.map((r) => [r.prefix >>> 0, r.length, r.kind])).toEqual([
      [0x0a5a0001, 32, 'lb'],
      [0x0a5a0002, 32, 'lb'],
      [0x0a5000c8, 32, 'lb'],
    ]);
  });

  it('keeps each backend on its slot across changes', () => {
    const slots = new BackendSlots();
    const first = slots.assign(['web/a:80', 'web/b:80', 'web/c:80']);
    const second = slots.assign(['web/c:80', 'web/d:80', 'web/a:80']);
    expect(second.get('web/a:80')).toBe(first.get('web/a:80'));
    expect(second.get('web/c:80')).toBe(first.get('web/c:80'));
    expect(second.get('web/d:80')).toBe(3); // a slot never used before, not b's
  });

  it('marks backends down from their health, when the service has a check', () => {
    const cfg = validateConfig(base());
    const { snapshot } = compile(cfg, {
      bpfDir: '',
      generation: 1,
      lb: { slots: new BackendSlots(), up: (key) => key !== 'web/10.80.0.12:80' },
    });
    expect(snapshot.lb!.services[0]!.backends.map((b) => b.up)).toEqual([true, false]);
    expect(snapshot.lb!.services[1]!.backends.map((b) => b.up)).toEqual([true]);
  });
});
