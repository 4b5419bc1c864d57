// The load balancers' rules that span fields: unique services, addresses
// that belong to nobody else, backends the mode can reach, table sizes.
import { isPrime, LB_BACKEND_SLOTS } from './compile-lb.js';
import { contains, parseIp4, parsePrefix } from './ip.js';
import type { Config, LoadBalancerConfig } from './schema.js';
import { type Add, subnetGateway, uniqueIds } from './validate-vpc.js';

export function lbIssues(cfg: Config, add: Add): void {
  uniqueIds(cfg.loadBalancers, 'loadBalancers', add);
  const vpcServices = new Map<string, string>();
  const subnets = cfg.ports.flatMap((p) => p.addresses.map((a) => parsePrefix(a)!));
  const own = new Set(subnets.map((s) => s.ip));
  const publicIps = new Set<number>([
    ...cfg.natGateways.flatMap((n) => n.publicIps.map((ip) => parseIp4(ip)!)),
    ...cfg.eips.map((e) => parseIp4(e.publicIp)!),
  ]);
  const services = new Map<string, string>();
  const vips = new Set(cfg.loadBalancers.filter((lb) => lb.vpc === undefined).map((lb) => parseIp4(lb.vip)!));
  const claim = (text: string, path: ReadonlyArray<PropertyKey>) => {
    const ip = parseIp4(text)!;
    const first = ip >>> 24;
    if (first === 0 || first === 127 || first >= 224) add(path, `${text} cannot be a load-balancer address`);
    else if (own.has(ip)) add(path, `${text} is an address of a port of the gateway`);
    else if (publicIps.has(ip)) add(path, `${text} is a public address of a NAT gateway or an elastic IP`);
  };
  // The MAC each address has, from the neighbors and from dr backends: one each.
  const macs = new Map<number, { mac: string; where: string }>(
    cfg.neighbors.map((n, k) => [
      parseIp4(n.address)!,
      { mac: n.mac.toLowerCase(), where: `neighbors[${k}]` },
    ]),
  );
  let backends = 0;
  cfg.loadBalancers.forEach((lb, i) => {
    const at = (...rest: PropertyKey[]) => ['loadBalancers', i, ...rest];
    if (lb.vpc !== undefined) {
      internalIssues(cfg, lb, at, add, vpcServices);
      backends += lb.backends.length;
      return;
    }
    claim(lb.vip, at('vip'));
    const key = `${lb.vip}/${lb.protocol}/${lb.port}`;
    const other = services.get(key);
    if (other !== undefined)
      add(at('port'), `${lb.protocol} ${lb.vip}:${lb.port} is already served by ${other}`);
    else services.set(key, lb.id);

    if (lb.mode === 'fullnat' && lb.localIps.length === 0)
      add(at('localIps'), 'fullnat needs at least one local address to take connections from');
    if (lb.mode !== 'fullnat' && lb.localIps.length > 0)
      add(at('localIps'), 'only fullnat services take local addresses');
    lb.localIps.forEach((ip, j) => {
      claim(ip, at('localIps', j));
      if (vips.has(parseIp4(ip)!)) add(at('localIps', j), `${ip} is a VIP`);
    });

    const seen = new Map<string, number>();
    lb.backends.forEach((b, j) => {
      const ip = parseIp4(b.ip)!;
      if (lb.mode === 'dr' || lb.mode === 'tunnel') {
        if (b.port !== undefined && b.port !== lb.port)
          add(
            at('backends', j, 'port'),
            `${lb.mode} keeps the client's destination port: leave the port out`,
          );
      } else if (lb.port === 0 && b.port !== undefined) {
        add(
          at('backends', j, 'port'),
          "a service of every port keeps the client's destination port: leave the port out",
        );
      }
      if (lb.mode === 'dr' && !subnets.some((s) => contains(s, ip)))
        add(
          at('backends', j, 'ip'),
          `${b.ip} is not on a subnet of a port: direct routing reaches backends on the same link only`,
        );
      if (b.mac !== undefined) {
        const known = macs.get(ip);
        if (lb.mode !== 'dr')
          add(at('backends', j, 'mac'), `only dr backends take a MAC (${lb.mode} routes to them)`);
        else if (known !== undefined && known.mac !== b.mac.toLowerCase())
          add(at('backends', j, 'mac'), `${b.ip} is ${known.mac} in ${known.where}`);
        else macs.set(ip, { mac: b.mac.toLowerCase(), where: `loadBalancers[${i}].backends[${j}]` });
      }
      if (own.has(ip) || vips.has(ip)) add(at('backends', j, 'ip'), `${b.ip} is an address of the gateway`);
      const id = `${b.ip}:${b.port ?? lb.port}`;
      const dup = seen.get(id);
      if (dup !== undefined) add(at('backends', j), `${id} is already backends[${dup}]`);
      else seen.set(id, j);
    });
    backends += lb.backends.length;

    if (lb.tableSize !== undefined && (lb.scheduler === 'maglev' || lb.scheduler === 'sh')) {
      if (!isPrime(lb.tableSize)) add(at('tableSize'), `${lb.tableSize} is not a prime`);
      else if (lb.tableSize < 100 * lb.backends.length)
        add(at('tableSize'), `must be at least 100 times the backends (${100 * lb.backends.length})`);
    }
    const hc = lb.healthCheck;
    if (hc) {
      if (hc.timeoutMs > hc.intervalMs)
        add(at('healthCheck', 'timeoutMs'), 'must not be longer than intervalMs');
      if (lb.port === 0 && hc.port === undefined && lb.backends.some((b) => b.port === undefined))
        add(at('healthCheck', 'port'), 'a service of every port needs the port to check');
    }
  });
  if (backends > LB_BACKEND_SLOTS)
    add(['loadBalancers'], `${backends} backends in all: the gateway counts at most ${LB_BACKEND_SLOTS}`);
}

/**
 * An internal load balancer: its VPC exists, the VIP is a free address of
 * the VPC (no ENI's, no subnet's gateway), the backends are addresses of
 * its ENIs. dr and tunnel backends keep the client's destination port, as
 * on the gateway's ports: they answer from the VIP, which they hold. fullnat
 * takes at least one local address, each a free address of the VPC as the
 * VIP is, and none a VIP of the VPC (the gateway answers ARP for both).
 */
function internalIssues(
  cfg: Config,
  lb: LoadBalancerConfig,
  at: (...rest: PropertyKey[]) => PropertyKey[],
  add: Add,
  services: Map<string, string>,
): void {
  const vpc = cfg.vpcs.find((v) => v.id === lb.vpc);
  if (!vpc) {
    add(at('vpc'), `no VPC is named ${lb.vpc}`);
    return;
  }
  const enis = cfg.enis.filter((e) => cfg.subnets.find((s) => s.id === e.subnet)?.vpc === lb.vpc);
  const eniAddress = (ip: string) => enis.some((e) => e.ip === ip || e.secondaryIps.includes(ip));
  // An address of the VPC the gateway answers for: no ENI's, no subnet's gateway.
  const free = (text: string, path: PropertyKey[]) => {
    const ip = parseIp4(text)!;
    if (!vpc.cidrs.some((c) => contains(parsePrefix(c)!, ip))) add(path, `${text} is not in ${lb.vpc}`);
    else if (eniAddress(text)) add(path, `${text} is an address of an ENI`);
    else if (cfg.subnets.some((s) => s.vpc === lb.vpc && subnetGateway(parsePrefix(s.cidr)!) === ip))
      add(path, `${text} is a subnet's gateway`);
  };
  free(lb.vip, at('vip'));
  const key = `${lb.vpc}/${lb.vip}/${lb.protocol}/${lb.port}`;
  const other = services.get(key);
  if (other !== undefined)
    add(at('port'), `${lb.protocol} ${lb.vip}:${lb.port} is already served by ${other}`);
  else services.set(key, lb.id);
  if (lb.mode === 'fullnat') {
    if (lb.localIps.length === 0)
      add(at('localIps'), 'fullnat needs at least one local address to take connections from');
    const vips = new Set(cfg.loadBalancers.filter((o) => o.vpc === lb.vpc).map((o) => parseIp4(o.vip)!));
    lb.localIps.forEach((ip, j) => {
      free(ip, at('localIps', j));
      if (vips.has(parseIp4(ip)!)) add(at('localIps', j), `${ip} is a VIP of ${lb.vpc}`);
    });
  } else if (lb.localIps.length > 0) {
    add(at('localIps'), 'only fullnat services take local addresses');
  }
  const seen = new Map<string, number>();
  lb.backends.forEach((b, j) => {
    if (!eniAddress(b.ip)) add(at('backends', j, 'ip'), `${b.ip} is not an address of an ENI of ${lb.vpc}`);
    if (b.mac !== undefined)
      add(at('backends', j, 'mac'), "inside a VPC a backend has its ENI's MAC: leave it out");
    if (lb.mode === 'dr' || lb.mode === 'tunnel') {
      if (b.port !== undefined && b.port !== lb.port)
        add(at('backends', j, 'port'), `${lb.mode} keeps the client's destination port: leave the port out`);
    } else if (lb.port === 0 && b.port !== undefined) {
      add(
        at('backends', j, 'port'),
        "a service of every port keeps the client's destination port: leave the port out",
      );
    }
    const id = `${b.ip}:${b.port ?? lb.port}`;
    const dup = seen.get(id);
    if (dup !== undefined) add(at('backends', j), `${id} is already backends[${dup}]`);
    else seen.set(id, j);
  });
}
