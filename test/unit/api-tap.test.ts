// POST /v1/trace and GET /v1/capture behind the real API with tokens: bad
// filters and parameters are 400 with the field and the reason, both need
// the admin token (a read token is 403), a trace returns the packets, and a
// capture streams a pcap file the CLI's client writes and tcpdump reads.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/api/client.js';
import { createApiServer } from '../../src/api/server.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log/logger.js';
import { MetricsExporter } from '../../src/metrics/metrics.js';
import { udpFrame } from '../../src/pkt/build.js';
import { readPcap } from '../../src/pkt/pcap.js';
import { MemGateway } from '../support/mem-gateway.js';

const ADMIN = 'admin-token-for-taps';
const READ = 'read-token-for-taps';
const config: ConfigInput = {
  ports: [
    { name: 'a', type: 'mem', mac: '02:00:00:00:00:0a', addresses: ['10.0.1.1/24'] },
    { name: 'b', type: 'mem', mac: '02:00:00:00:00:0b', addresses: ['10.0.2.1/24'] },
  ],
  routes: [{ destination: '10.9.0.0/16', via: '10.0.2.254' }],
  neighbors: [{ port: 'b', address: '10.0.2.254', mac: '02:bb:00:00:00:fe' }],
};
const frame = udpFrame({
  dstMac: '02:00:00:00:00:0a',
  srcMac: '02:aa:00:00:00:02',
  src: '10.0.1.2',
  dst: '10.9.0.1',
  dport: 9999,
});

let gw: MemGateway;
let app: ReturnType<typeof createApiServer>;
let base: string;
let dir: string;
beforeAll(async () => {
  gw = MemGateway.start(config);
  app = createApiServer(gw.svc, new MetricsExporter(gw.svc), silentLogger(), {
    auth: { adminToken: ADMIN, readToken: READ },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  dir = mkdtempSync(join(tmpdir(), 'nfvgw-tr-api-'));
});
afterAll(async () => {
  await app?.close();
  gw?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const trace = (body: unknown, token = ADMIN) =>
  fetch(`${base}/v1/trace`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
// What the endpoints answer, as far as these tests look.
interface Answer {
  error: { code: string; message: string };
  complete: boolean;
  packets: Record<string, unknown>[];
}
const json = async (r: Response) => (await r.json()) as Answer;
const capture = (query: string, token = ADMIN) =>
  fetch(`${base}/v1/capture?${query}`, { headers: { authorization: `Bearer ${token}` } });

describe('POST /v1/trace', () => {
  it('refuses a bad filter with the field and the reason', async () => {
    const cases: [unknown, string][] = [
      [{ filter: { src: '10.0.0.256' } }, 'filter.src: 10.0.0.256 is not an IPv4 address'],
      [{ filter: { dst: '10.0.0.0/40' } }, 'filter.dst: 10.0.0.0/40 is not an IPv4 prefix like 10.0.0.0/8'],
      [{ filter: { port: 'c' } }, 'filter.port: no port "c"; there are: a, b'],
      [{ filter: { protocol: 'sctp' } }, 'filter.protocol: "sctp" is not a whole number in 0..255'],
      [{ filter: { sport: -1 } }, 'filter.sport: -1 is not a whole number in 0..65535'],
      [
        { filter: { host: '10.0.0.1' } },
        'filter: unknown field host; there are: port, src, dst, protocol, sport, dport, vni',
      ],
      [{ filter: 'udp' }, 'filter must be an object'],
      [{ count: 0 }, 'count: 0 is not a whole number in 1..1000'],
      [{ timeoutMs: 120000 }, 'timeoutMs: 120000 is not a whole number in 1..60000'],
      [{ cnt: 1 }, 'unknown field cnt; there are: filter, count, timeoutMs'],
    ];
    for (const [body, message] of cases) {
      const r = await trace(body);
      expect(r.status, message).toBe(400);
      expect(await json(r)).toEqual({
        error: expect.objectContaining({ code: 'NFVGW_ERR_BAD_REQUEST', message }),
      });
    }
  });

  it('needs the admin token: the read token is refused', async () => {
    const r = await trace({ count: 1, timeoutMs: 1 }, READ);
    expect(r.status).toBe(403);
    expect((await json(r)).error.code).toBe('NFVGW_ERR_FORBIDDEN');
    const none = await fetch(`${base}/v1/trace`, { method: 'POST' });
    expect(none.status).toBe(401);
  });

  it('returns the traced packets as JSON', async () => {
    const pending = trace({ count: 1, timeoutMs: 10_000, filter: { dst: '10.9.0.0/16', protocol: 'udp' } });
    // The trace is armed once the request is in; send until it has its packet.
    let r: Response | undefined;
    void pending.then((x) => {
      r = x;
    });
    while (!r) await gw.send('a', frame);
    expect(r.status).toBe(200);
    const body = await json(r);
    expect(body.complete).toBe(true);
    expect(body.packets).toHaveLength(1);
    expect(body.packets[0]).toMatchObject({
      port: 'a',
      summary: 'udp 10.0.1.2:1024 -> 10.9.0.1:9999',
      fate: { action: 'sent', port: 'b', length: 60 },
    });
  });
});

describe('GET /v1/capture', () => {
  it('refuses bad parameters precisely', async () => {
    const cases: [string, string][] = [
      ['', 'give the port to capture on: ?port=NAME'],
      ['port=a&direction=up', 'direction: up is not rx, tx or both'],
      ['port=a&count=-2', 'count: -2 is not a whole number in 0..1000000000'],
      ['port=a&duration=0', 'duration: 0 is not a number of seconds in (0, 86400]'],
      ['port=a&snaplen=0', 'snaplen: 0 is not a whole number in 1..65535'],
      ['port=a&dport=http', 'capture filter.dport: "http" is not a whole number in 0..65535'],
      ['port=z', 'capture filter.port: no port "z"; there are: a, b'],
      [
        'port=a&iface=x',
        'unknown parameter iface; there are: port, src, dst, protocol, sport, dport, vni, direction, count, duration, snaplen',
      ],
      ['port=a&port=b', 'give port once'],
    ];
    for (const [query, message] of cases) {
      const r = await capture(query);
      expect(r.status, query).toBe(400);
      expect((await json(r)).error.message).toBe(message);
    }
  });

  it('needs the admin token: it shows what the packets carry', async () => {
    const r = await capture('port=a&count=1', READ);
    expect(r.status).toBe(403);
    expect((await json(r)).error.message).toBe(
      'the read-only token cannot capture packets: that needs the admin token',
    );
  });

  it("streams a pcap file through the CLI's client, both directions, that tcpdump reads", async () => {
    const client = new ApiClient(
      { host: '127.0.0.1', port: Number(new URL(base).port), tls: false },
      { token: ADMIN },
    );
    const chunks: Buffer[] = [];
    let done = false;
    // Sent until the capture has its two frames: received on a (what leaves
    // goes by b, which this capture does not watch).
    const pending = client
      .capture({ count: '2', direction: 'both', dst: '10.9.0.1', dport: '9999', port: 'a' }, (c) =>
        chunks.push(c),
      )
      .finally(() => {
        done = true;
      });
    while (!done) await gw.send('a', frame);
    expect(await pending).toEqual({ captured: 2, missed: 0 });
    const file = join(dir, 'cli.pcap');
    writeFileSync(file, Buffer.concat(chunks));
    const records = readPcap(Buffer.concat(chunks));
    expect(records.map((r) => r.data)).toEqual([frame, frame]);
    const text = execFileSync('tcpdump', ['-r', file, '-nn'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(text.trim().split('\n')).toHaveLength(2);
    expect(text).toContain('10.0.1.2.1024 > 10.9.0.1.9999: UDP');
  });
});
