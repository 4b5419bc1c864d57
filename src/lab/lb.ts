// The load-balancer lab: a client, the gateway in front of a virtual IP,
// and backends behind it, each in a network namespace:
//
//   <p>-cl   client: eth0 10.70.0.10/24 (+ .11-.14 to vary the source), default
//            route and the VIP block 10.90.0.0/24 via the gateway 10.70.0.1;
//            eth1 10.71.0.10/24 towards <p>-rt, where direct replies arrive
//   <p>-gw   the gateway: fr0 (front, 10.70.0.1) and be0 (back, 10.80.0.1),
//            nfvgw's ports; no kernel addresses, no forwarding, unless
//            kernelLb() makes the kernel the load balancer instead
//   <p>-bsw  the backend segment 10.80.0.0/24: a bridge joining be0, <p>-rt
//            and the backends (DR rewrites only MACs, so the gateway and the
//            backends must share this L2)
//   <p>-bN   backend N: eth0 10.80.0.(10+N), MAC 02:80:00:00:00:<10+N in hex>
//            (b1: 10.80.0.11, 02:80:00:00:00:0b), an HTTP server and a UDP
//            echo that both say who they are (startBackendServers)
//   <p>-rt   an ordinary Linux router, eth0 10.80.0.254 on the segment, eth1
//            10.71.0.254 to the client: the return path of DR and tunnel
//            mode, which must reach the client without passing the gateway
//
// fr0 and be0 are up with offloads off, as nfvgw's AF_XDP wants them, with
// `queues` queues each. The gateway's full-NAT local addresses
// (10.80.0.200-209) are on-link on the segment: the gateway answers ARP for
// them. The segment runs at MTU 1600 so that a full-size client packet
// still fits once the gateway puts it in IP-in-IP (tunnel mode); the
// client side stays at 1500.
//
// lbBackendMode() sets the backends up for one forwarding mode; its comments
// are the backend setup the README refers to.
import type { ChildProcess } from 'node:child_process';
import { nsRun, nsSpawn, stop, waitForLine } from './exec.js';
import { createNs, labBridge, labDown, macOf, sysctl, vethPair } from './topology.js';

export type LbMode = 'dr' | 'nat' | 'fullnat' | 'tunnel';

export interface LbBackend {
  name: string;
  ns: string;
  ip: string;
  mac: string;
}

export interface LbLab {
  prefix: string;
  gwNs: string;
  clientNs: string;
  clientIp: string;
  /** All the client's front addresses, clientIp first. */
  clientIps: string[];
  frontIface: 'fr0';
  backIface: 'be0';
  gwFrontIp: string;
  gwBackIp: string;
  backends: LbBackend[];
  routerNs: string;
  /** The router's address on the backend segment (DR, tunnel and full-NAT backends' default route). */
  routerIp: string;
  /** The block the VIPs come from, routed by the client via the gateway. */
  vipPrefix: string;
  /** Full-NAT source addresses for the gateway, on-link on the backend segment. */
  localIps: string[];
  queues: number;
}

export const LB_PREFIX = 'nfvgw-lb';
const BACKEND_MTU = 1600;
const MAX_BACKENDS = 50;

/**
 * Builds the lab (removing first whatever an earlier run left under the
 * same prefix) with its backends in NAT mode and no servers running.
 * `queues` is the number of RX/TX queues of fr0 and be0 (and their peers),
 * one per gateway worker. Fails if a command fails (not root, no bridge).
 */
export async function lbLabUp(
  opts: { prefix?: string; backends?: number; queues?: number } = {},
): Promise<LbLab> {
  const prefix = opts.prefix ?? LB_PREFIX;
  const count = opts.backends ?? 3;
  const queues = opts.queues ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_BACKENDS)
    throw new Error(`lbLabUp: backends must be 1..${MAX_BACKENDS}, not ${count}`);
  await lbLabDown(prefix);

  const lab: LbLab = {
    prefix,
    gwNs: `${prefix}-gw`,
    clientNs: `${prefix}-cl`,
    clientIp: '10.70.0.10',
    clientIps: ['10.70.0.10', '10.70.0.11', '10.70.0.12', '10.70.0.13', '10.70.0.14'],
    frontIface: 'fr0',
    backIface: 'be0',
    gwFrontIp: '10.70.0.1',
    gwBackIp: '10.80.0.1',
    backends: [],
    routerNs: `${prefix}-rt`,
    routerIp: '10.80.0.254',
    vipPrefix: '10.90.0.0/24',
    localIps: Array.from({ length: 10 }, (_, i) => `10.80.0.${200 + i}`),
    queues,
  };
  const bsw = `${prefix}-bsw`;
  for (const ns of [lab.gwNs, lab.clientNs, bsw, lab.routerNs]) await createNs(ns);

  // The gateway: interfaces up with no kernel addresses (nfvgw owns them),
  // so only nfvgw or kernelLb() moves packets.
  await sysctl(lab.gwNs, 'net.ipv4.ip_forward=0');
  await vethPair(lab.gwNs, lab.frontIface, lab.clientNs, 'eth0', queues);
  await nsRun(lab.gwNs, 'ip', ['link', 'set', lab.frontIface, 'up']);

  await labBridge(bsw, 'br0');
  await nsRun(bsw, 'ip', ['link', 'set', 'br0', 'mtu', String(BACKEND_MTU), 'up']);
  const plugSegment = async (ns: string, iface: string, port: string, q = 1, mac?: string) => {
    await vethPair(ns, iface, bsw, port, q);
    if (mac) await nsRun(ns, 'ip', ['link', 'set', iface, 'address', mac]);
    await nsRun(ns, 'ip', ['link', 'set', iface, 'mtu', String(BACKEND_MTU)]);
    await nsRun(bsw, 'ip', ['link', 'set', port, 'mtu', String(BACKEND_MTU), 'master', 'br0', 'up']);
    await nsRun(ns, 'ip', ['link', 'set', iface, 'up']);
  };
  await plugSegment(lab.gwNs, lab.backIface, 'p-gw', queues);

  // The client. Replies of DR and tunnel mode come from a VIP, which the
  // client routes via eth0, but arrive on eth1: reverse-path filtering off.
  const cl = lab.clientNs;
  for (const [i, ip] of lab.clientIps.entries())
    await nsRun(cl, 'ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0', ...(i ? ['secondary'] : [])]);
  await nsRun(cl, 'ip', ['link', 'set', 'eth0', 'up']);
  await nsRun(cl, 'ip', ['route', 'add', 'default', 'via', lab.gwFrontIp]);
  await nsRun(cl, 'ip', ['route', 'add', lab.vipPrefix, 'via', lab.gwFrontIp]);

  // The direct-return router.
  const rt = lab.routerNs;
  await plugSegment(rt, 'eth0', 'p-rt');
  await nsRun(rt, 'ip', ['addr', 'add', `${lab.routerIp}/24`, 'dev', 'eth0']);
  await vethPair(rt, 'eth1', cl, 'eth1');
  await nsRun(rt, 'ip', ['addr', 'add', '10.71.0.254/24', 'dev', 'eth1']);
  await nsRun(rt, 'ip', ['link', 'set', 'eth1', 'up']);
  await nsRun(cl, 'ip', ['addr', 'add', '10.71.0.10/24', 'dev', 'eth1']);
  await nsRun(cl, 'ip', ['link', 'set', 'eth1', 'up']);
  await nsRun(rt, 'ip', ['route', 'add', '10.70.0.0/24', 'via', '10.71.0.10']);
  await sysctl(rt, 'net.ipv4.ip_forward=1');
  // The router has no route to the VIP block (sources of direct replies).
  for (const ns of [cl, rt])
    for (const dev of ['all', 'default', 'eth0', 'eth1'])
      await sysctl(ns, `net.ipv4.conf.${dev}.rp_filter=0`);

  for (let n = 1; n <= count; n++) {
    const hex = (10 + n).toString(16).padStart(2, '0');
    const b: LbBackend = {
      name: `b${n}`,
      ns: `${prefix}-b${n}`,
      ip: `10.80.0.${10 + n}`,
      mac: `02:80:00:00:00:${hex}`,
    };
    await createNs(b.ns);
    await plugSegment(b.ns, 'eth0', `p-${b.name}`, 1, b.mac);
    await nsRun(b.ns, 'ip', ['addr', 'add', `${b.ip}/24`, 'dev', 'eth0']);
    b.mac = await macOf(b.ns, 'eth0');
    lab.backends.push(b);
  }
  await lbBackendMode(lab, 'nat', []);
  return lab;
}

/** Removes every namespace of the lab (also one a crashed run left) and the processes in them. */
export async function lbLabDown(prefix = LB_PREFIX): Promise<string[]> {
  // labDown kills the processes; forget them here.
  for (const map of [servers, decaps])
    for (const ns of map.keys()) if (ns.startsWith(`${prefix}-`)) map.delete(ns);
  return labDown(prefix);
}

// A backend's servers, one Python process: HTTP on `port` answering every
// GET with the backend's name (body "b1\n", header X-Client with the
// source address and port it saw: a full-NAT local address, or the client),
// HTTP/1.1 with keep-alive for load generators; and a UDP echo on `udpPort`
// answering "<name> <source ip>:<port> " followed by the datagram. Both
// listen on 0.0.0.0 so they take the VIPs of DR and tunnel mode too; the
// echo answers from the address it was sent to (IP_PKTINFO), as a DR or
// tunnel backend must, or the client would not match the reply.
const SERVER_PY = String.raw`
import socket, struct, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
name, port, udp_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
IP_PKTINFO = getattr(socket, 'IP_PKTINFO', 8)

class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        body = (name + '\n').encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.send_header('X-Backend', name)
        self.send_header('X-Client', '%s:%d' % self.client_address[:2])
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

http = ThreadingHTTPServer(('0.0.0.0', port), Handler)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
udp.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
udp.bind(('0.0.0.0', udp_port))

def echo():
    while True:
        data, anc, _, src = udp.recvmsg(65535, socket.CMSG_SPACE(12))
        anc = [struct.pack('i4s4s', 0, c[2][8:12], bytes(4)) for c in anc if c[:2] == (socket.IPPROTO_IP, IP_PKTINFO)]
        reply = ('%s %s:%d ' % (name, src[0], src[1])).encode() + data
        udp.sendmsg([reply], [(socket.IPPROTO_IP, IP_PKTINFO, a) for a in anc[:1]], 0, src)

threading.Thread(target=echo, daemon=True).start()
print('ready', flush=True)
http.serve_forever()
`;

// IP-in-IP reception in userspace, for kernels built without the ipip
// module (CONFIG_NET_IPIP): a raw socket takes every IP-in-IP packet to a
// local address (and, having taken it, keeps the kernel from answering
// "protocol unreachable"); the inner packet goes into a TUN device, which
// the kernel then receives it from, as it would from tunl0.
const DECAP_PY = `
import fcntl, os, socket, struct, sys
tun = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(tun, 0x400454ca, struct.pack('16sH', sys.argv[1].encode(), 0x0001 | 0x1000))  # TUNSETIFF, IFF_TUN | IFF_NO_PI
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
print('ready', flush=True)
while True:
    pkt = raw.recv(65535)
    inner = pkt[(pkt[0] & 15) * 4:]
    if inner:
        os.write(tun, inner)
`;

interface Servers {
  port: number;
  udpPort: number;
  child?: ChildProcess;
}
/** Backend servers by namespace; an entry without a child is a stopped backend. */
const servers = new Map<string, Servers>();
/** Userspace IP-in-IP receivers by namespace. */
const decaps = new Map<string, ChildProcess>();

function backendOf(lab: LbLab, nameOrIp: string): LbBackend {
  const b = lab.backends.find((x) => x.name === nameOrIp || x.ip === nameOrIp);
  if (!b) throw new Error(`no backend ${nameOrIp} in lab ${lab.prefix}`);
  return b;
}

/**
 * Starts every backend's HTTP server (TCP `port`) and UDP echo (`udpPort`,
 * by default the same number), restarting any already running. Resolves
 * once all listen; the handle stops them all.
 */
export async function startBackendServers(
  lab: LbLab,
  port = 80,
  udpPort = port,
): Promise<{ stop(): Promise<void> }> {
  for (const b of lab.backends) {
    await stopBackend(lab, b.name);
    servers.set(b.ns, { port, udpPort });
    await startBackend(lab, b.name);
  }
  return {
    async stop() {
      for (const b of lab.backends) {
        await stopBackend(lab, b.name);
        servers.delete(b.ns);
      }
    },
  };
}

/** Stops one backend's servers (its TCP port then refuses, its UDP port answers "port unreachable"). */
export async function stopBackend(lab: LbLab, name: string): Promise<void> {
  const s = servers.get(backendOf(lab, name).ns);
  if (!s?.child) return;
  const child = s.child;
  s.child = undefined;
  await stop(child);
}

/** Starts one backend's servers again, on the ports startBackendServers() gave; a no-op if they run. */
export async function startBackend(lab: LbLab, name: string): Promise<void> {
  const b = backendOf(lab, name);
  const s = servers.get(b.ns);
  if (!s) throw new Error(`startBackend ${name}: startBackendServers() first`);
  if (s.child) return;
  const child = nsSpawn(b.ns, 'python3', ['-u', '-c', SERVER_PY, b.name, String(s.port), String(s.udpPort)]);
  await waitForLine(child, /ready/, `servers of ${b.ns}`);
  s.child = child;
}

/**
 * Sets every backend up for forwarding mode `mode` with the services'
 * `vips`, undoing what an earlier mode set. What a backend needs, by mode:
 *
 * nat: nothing but its default route via the gateway (10.80.0.1), which
 *   must see the replies to undo the destination NAT.
 *
 * fullnat: nothing at all: requests come from a gateway local address on
 *   the segment, so replies go back to it on-link whatever the default
 *   route is (here the router, 10.80.0.254, to show that it is not used).
 *
 * dr (LVS direct routing): the gateway rewrites only the destination MAC,
 *   so the packet still carries the VIP as its destination.
 *   - VIP/32 on lo: the backend takes the packet as its own, and sockets
 *     bound to 0.0.0.0 answer from the VIP, the address the client called.
 *   - arp_ignore=1 (all and eth0): answer ARP only for addresses on the
 *     interface the request came in on. Linux by default answers for any
 *     local address on any interface, so every backend would claim the VIP
 *     on the segment, racing the gateway for it.
 *   - arp_announce=2 (all and eth0): in its own ARP requests, the backend
 *     gives eth0's address as the sender, never the VIP (the source of the
 *     reply that made it ask), or neighbours would learn VIP = this backend.
 *   The kernel uses the larger of `all` and the interface's value; both are
 *   set so neither alone undoes it.
 *   - default route via the router (10.80.0.254): replies go straight to the
 *     client, never through the gateway, which sees only the requests.
 *
 * tunnel (LVS IP tunnelling): the gateway sends the client's packet inside
 *   IP-in-IP to the backend's own address.
 *   - an ipip device up with the VIP/32 on it: the kernel decapsulates
 *     IP-in-IP to a local address on tunl0 (the ipip module's catch-all
 *     device) and takes the inner packet, to the VIP, as its own. Where the
 *     kernel has no ipip (CONFIG_NET_IPIP unset, as on the CI machine), a
 *     userspace receiver feeding a TUN device `ipip0` does the same.
 *   - rp_filter=0 on all, default and the tunnel device: the inner packet
 *     arrives on the tunnel device from the client, whose route is via
 *     eth0, so strict reverse-path filtering (the distributions' default,
 *     set on every backend here) drops it; the kernel uses the larger of
 *     `all` and the interface's value.
 *   - arp_ignore=1 / arp_announce=2 as in dr: the VIP is a local address,
 *     and by default Linux would answer ARP for it on eth0 too.
 *   - default route via the router, as in dr.
 */
export async function lbBackendMode(lab: LbLab, mode: LbMode, vips: string[]): Promise<void> {
  const direct = mode === 'dr' || mode === 'tunnel';
  for (const b of lab.backends) {
    const ns = b.ns;
    // Back to a plain host first: no VIPs, ARP as Linux has it by default,
    // strict reverse-path filtering as distributions set it.
    const decap = decaps.get(ns);
    if (decap) {
      decaps.delete(ns);
      await stop(decap);
    }
    await nsRun(ns, 'ip', ['addr', 'flush', 'dev', 'lo', 'scope', 'global']);
    if (await hasLink(ns, 'tunl0')) {
      await nsRun(ns, 'ip', ['addr', 'flush', 'dev', 'tunl0']);
      await nsRun(ns, 'ip', ['link', 'set', 'tunl0', 'down']);
    }
    for (const dev of ['all', 'eth0']) {
      await sysctl(ns, `net.ipv4.conf.${dev}.arp_ignore=${direct ? 1 : 0}`);
      await sysctl(ns, `net.ipv4.conf.${dev}.arp_announce=${direct ? 2 : 0}`);
    }
    const tunnelDev = mode === 'tunnel' ? await tunnelDevice(b) : undefined;
    for (const dev of ['all', 'default', ...(tunnelDev ? [tunnelDev] : [])])
      await sysctl(ns, `net.ipv4.conf.${dev}.rp_filter=${tunnelDev ? 0 : 1}`);
    const vipDev = mode === 'dr' ? 'lo' : tunnelDev;
    if (vipDev) for (const vip of vips) await nsRun(ns, 'ip', ['addr', 'add', `${vip}/32`, 'dev', vipDev]);
    const via = mode === 'nat' ? lab.gwBackIp : lab.routerIp;
    await nsRun(ns, 'ip', ['route', 'replace', 'default', 'via', via]);
    await nsRun(ns, 'ip', ['neigh', 'flush', 'all']);
  }
}

async function hasLink(ns: string, dev: string): Promise<boolean> {
  return (await nsRun(ns, 'ip', ['link', 'show', dev], { allowFail: true })).code === 0;
}

/** Brings up the backend's IP-in-IP receiver; returns its device. */
async function tunnelDevice(b: LbBackend): Promise<string> {
  const { dev, child } = await ipipReceiver(b.ns);
  if (child) decaps.set(b.ns, child);
  return dev;
}

/**
 * An IP-in-IP receiver in namespace `ns`, up: tunl0 where the kernel has
 * the ipip module, else the userspace receiver (DECAP_PY) feeding a TUN
 * device ipip0, whose process comes back too for the caller to stop. Also
 * the VPC test's, for backend VMs of an internal tunnel service.
 */
export async function ipipReceiver(ns: string): Promise<{ dev: string; child?: ChildProcess }> {
  // Asking for an ipip device loads the module where it is one; that
  // creates tunl0 (this request itself then fails: tunl0 has its parameters).
  if (!(await hasLink(ns, 'tunl0'))) {
    await nsRun(ns, 'ip', ['link', 'add', 'lbipip', 'type', 'ipip'], { allowFail: true });
    await nsRun(ns, 'ip', ['link', 'del', 'lbipip'], { allowFail: true });
  }
  let dev = 'tunl0';
  let child: ChildProcess | undefined;
  if (!(await hasLink(ns, dev))) {
    dev = 'ipip0';
    child = nsSpawn(ns, 'python3', ['-u', '-c', DECAP_PY, dev]);
    await waitForLine(child, /ready/, `IP-in-IP receiver of ${ns}`);
  }
  await nsRun(ns, 'ip', ['link', 'set', dev, 'up']);
  return { dev, child };
}

export interface KernelLbService {
  vip: string;
  port: number;
  protocol: 'tcp' | 'udp';
  /** Backends by name (b1) or address, in the lab. */
  backends: string[];
  /**
   * nat (default): destination NAT with connection tracking, the way
   * kube-proxy's nftables mode does it; the backends need lbBackendMode 'nat'.
   * dr: the destination MAC rewritten in fr0's ingress hook and the frame
   * sent out of be0 as it is; the backends need lbBackendMode 'dr'.
   */
  mode?: 'nat' | 'dr';
  /**
   * rr: connections in turn (numgen inc, like LVS rr); random (numgen
   * random, kube-proxy's); hash: by client address and port (jhash), the
   * only choice for dr, which has no connection state and decides per packet.
   * Default: rr for nat, hash for dr.
   */
  scheduler?: 'rr' | 'random' | 'hash';
}

const KERNEL_LB_TABLES = [
  ['ip', 'nfvgw_lb'],
  ['netdev', 'nfvgw_lb_dr'],
] as const;

/**
 * The Linux kernel as the load balancer in the gateway's namespace (this
 * kernel has no IPVS; nftables does it): gives fr0 and be0 the gateway's
 * addresses, turns on forwarding and installs one service; replaces any
 * earlier one. `null` removes it all again. nfvgw must not run meanwhile.
 */
export async function kernelLb(lab: LbLab, svc: KernelLbService | null): Promise<void> {
  const ns = lab.gwNs;
  for (const [family, table] of KERNEL_LB_TABLES)
    await nsRun(ns, 'nft', ['delete', 'table', family, table], { allowFail: true });
  await nsRun(ns, 'conntrack', ['-F'], { allowFail: true });
  const addrs = [
    [lab.frontIface, lab.gwFrontIp],
    [lab.backIface, lab.gwBackIp],
  ] as const;
  if (!svc) {
    await sysctl(ns, 'net.ipv4.ip_forward=0');
    for (const [dev, ip] of addrs)
      await nsRun(ns, 'ip', ['addr', 'del', `${ip}/24`, 'dev', dev], { allowFail: true });
  }
  for (const host of [ns, lab.clientNs, ...lab.backends.map((b) => b.ns)])
    await nsRun(host, 'ip', ['neigh', 'flush', 'all'], { allowFail: true });
  if (!svc) return;

  const mode = svc.mode ?? 'nat';
  const scheduler = svc.scheduler ?? (mode === 'dr' ? 'hash' : 'rr');
  if (mode === 'dr' && scheduler !== 'hash') throw new Error('kernelLb: dr needs the hash scheduler');
  if (svc.backends.length === 0) throw new Error('kernelLb: no backends');
  const backends = svc.backends.map((x) => backendOf(lab, x));
  for (const [dev, ip] of addrs) await nsRun(ns, 'ip', ['addr', 'replace', `${ip}/24`, 'dev', dev]);
  const p = svc.protocol;
  const pick = {
    rr: 'numgen inc',
    random: 'numgen random',
    hash: `jhash ip saddr . ${p} sport`,
  }[scheduler];
  const map = (to: (b: LbBackend) => string) =>
    `${pick} mod ${backends.length} map { ${backends.map((b, i) => `${i} : ${to(b)}`).join(', ')} }`;
  const match = `ip daddr ${svc.vip} ${p} dport ${svc.port}`;
  const rules =
    mode === 'nat'
      ? [
          'table ip nfvgw_lb {',
          '  chain prerouting {',
          '    type nat hook prerouting priority dstnat; policy accept;',
          `    ${match} dnat to ${map((b) => b.ip)}`,
          '  }',
          '}',
        ]
      : [
          'table netdev nfvgw_lb_dr {',
          '  chain ingress {',
          `    type filter hook ingress device "${lab.frontIface}" priority filter; policy accept;`,
          `    ${match} ether saddr set ${await macOf(ns, lab.backIface)} ether daddr set ${map((b) => b.mac)} fwd to "${lab.backIface}"`,
          '  }',
          '}',
        ];
  await nsRun(ns, 'nft', ['-f', '-'], { input: `${rules.join('\n')}\n` });
  await sysctl(ns, `net.ipv4.ip_forward=${mode === 'nat' ? 1 : 0}`);
}
