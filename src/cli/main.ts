// The nfvgw command line. `run` is the gateway itself; the commands that
// inspect or change a running gateway go through its REST API.
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.js';
import { validateConfig } from '../config/validate.js';
import { labCommand } from './lab.js';
import { printError } from './output.js';
import {
  applyCommand,
  backendCommand,
  configCommand,
  flowsCommand,
  lbCommand,
  neighborsCommand,
  resourceCommand,
  routeCommand,
  routesCommand,
  statusCommand,
} from './remote.js';
import { runGateway } from './run.js';
import { captureCommand, traceCommand } from './tap.js';

const USAGE = `usage: nfvgw <command> [options]

  run --config FILE [--api HOST:PORT] [--state-dir DIR] [--log-format json|pretty] [--log-level L]
      [--token-file FILE] [--read-token-file FILE] [--public-metrics] [--tls-cert FILE --tls-key FILE]
                             start the gateway (API default 127.0.0.1:9180); with
                             --state-dir, every applied configuration is saved there
                             and restored at the next start. With --token-file
                             (or NFVGW_TOKEN), the API wants that admin token for
                             changes, it or the read token (--read-token-file,
                             NFVGW_READ_TOKEN) for reading; /healthz stays open,
                             /metrics too with --public-metrics. --tls-cert and
                             --tls-key (NFVGW_TLS_CERT, NFVGW_TLS_KEY): HTTPS.
                             Refuses a non-loopback --api without an admin token
  status [--json]            ports, workers, drops of the running gateway
  config                     print the running configuration (YAML)
  apply --config FILE [--dry-run]
                             replace the running configuration (atomic); --dry-run
                             shows what would change and applies nothing
  validate --config FILE     check a configuration without a gateway
  routes [--lookup ADDR] [--table ID]
                             the route table, or the route for one address; with
                             --table, where that VPC route table sends it
  backend set --lb ID ADDR[:PORT] [--weight N] [--dry-run]
  backend delete --lb ID ADDR[:PORT] [--dry-run]
                             add or change (weight 0 drains) or remove one backend
                             of a load balancer (a new generation)
  route set --table ID DEST TARGET [--dry-run]
  route delete --table ID DEST [--dry-run]
                             set or remove one route of a VPC route table, applied
                             in milliseconds (a new generation; nothing rebuilt)
  neighbors                  the ARP neighbors
  get COLLECTION [ID]        a list of the configuration (vpcs, subnets, enis,
                             route-tables, security-groups, nat-gateways, eips,
                             load-balancers, ...) or one item of it
  put COLLECTION ID --config FILE [--dry-run]
                             create or replace one item (a new generation)
  delete COLLECTION ID [--dry-run]
                             remove one item
  lb [--json]                the load balancers: each backend's health, weight,
                             active and total connections, packets, bytes
  flows [--vpc V] [--ip A] [--port N] [--protocol P] [--state S] [--limit N] [--flush]
                             the tracked connections (--flush removes them)
  trace [--port P] [--filter F] [--count N] [--timeout MS] [--json]
                             trace the next N packets (default 10) that match: their
                             way through the stages and their fate. F is key=value
                             pairs: src=A[/N],dst=A[/N],protocol=tcp|udp|icmp|N,
                             sport=N,dport=N,vni=N (VXLAN: outer or inner headers)
  capture --port P -w FILE [--filter F] [--count N] [--duration S]
          [--direction rx|tx|both] [--snaplen B]
                             write the frames P receives (rx) and sends (tx) to a
                             pcap file (-w - for stdout) until N frames or S seconds
                             (or Ctrl-C)
  lab up|down|list [--scenario NAME] [--prefix P] [--queues N] [--type af_xdp|af_packet]
                             build or remove a network-namespace lab
  demo [--json] [--type af_xdp|af_packet]
                             lab + gateway + real traffic, then a summary
  bench [--json] [--report] [SCENARIO...]
                             benchmarks (bench/); --report writes bench/REPORT.md
                             and bench/report.png; see README

  Commands that talk to a running gateway take --api HOST:PORT (https://HOST:PORT
  for HTTPS), --token-file FILE (or NFVGW_TOKEN) for the token they send, and
  --ca FILE (or NFVGW_CA) for the certificate to trust instead of the system's.
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      api: { type: 'string' },
      json: { type: 'boolean' },
      report: { type: 'boolean' },
      lookup: { type: 'string' },
      table: { type: 'string' },
      lb: { type: 'string' },
      weight: { type: 'string' },
      vpc: { type: 'string' },
      ip: { type: 'string' },
      port: { type: 'string' },
      protocol: { type: 'string' },
      state: { type: 'string' },
      limit: { type: 'string' },
      flush: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'state-dir': { type: 'string' },
      'token-file': { type: 'string' },
      'read-token-file': { type: 'string' },
      'public-metrics': { type: 'boolean' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      ca: { type: 'string' },
      scenario: { type: 'string' },
      prefix: { type: 'string' },
      queues: { type: 'string' },
      type: { type: 'string' },
      out: { type: 'string' },
      filter: { type: 'string' },
      count: { type: 'string' },
      timeout: { type: 'string' },
      duration: { type: 'string' },
      direction: { type: 'string' },
      snaplen: { type: 'string' },
      write: { type: 'string', short: 'w' },
      seconds: { type: 'string' },
      'log-format': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const needConfig = () => {
    if (!values.config) throw new Error(`nfvgw ${command} needs --config FILE`);
    return values.config;
  };
  const remote = { api: values.api, tokenFile: values['token-file'], ca: values.ca };
  const transport = values.type as 'af_xdp' | 'af_packet' | undefined;
  if (transport && transport !== 'af_xdp' && transport !== 'af_packet')
    throw new Error('--type is af_xdp or af_packet');
  switch (command) {
    case 'run':
      await runGateway({
        config: needConfig(),
        api: values.api,
        stateDir: values['state-dir'],
        tokenFile: values['token-file'],
        readTokenFile: values['read-token-file'],
        publicMetrics: values['public-metrics'],
        tlsCert: values['tls-cert'],
        tlsKey: values['tls-key'],
        log: {
          format: (values['log-format'] as 'json' | 'pretty' | undefined) ?? 'auto',
          level: values['log-level'],
        },
      });
      return -1; // keep running until a signal
    case 'status':
      await statusCommand({ ...remote, json: values.json });
      return 0;
    case 'config':
      await configCommand(remote);
      return 0;
    case 'apply':
      await applyCommand({ ...remote, config: needConfig(), dryRun: values['dry-run'] });
      return 0;
    case 'validate': {
      const cfg = validateConfig(await loadConfigFile(needConfig()));
      console.log(
        `${values.config}: valid (${cfg.ports.length} ports, ${cfg.routes.length} routes, ${cfg.workers.length} workers` +
          (cfg.vpcs.length
            ? `; ${cfg.vpcs.length} VPCs, ${cfg.subnets.length} subnets, ${cfg.enis.length} ENIs, ` +
              `${cfg.routeTables.reduce((n, t) => n + t.routes.length, 0)} VPC routes)`
            : ')'),
      );
      return 0;
    }
    case 'routes':
      await routesCommand({ ...remote, lookup: values.lookup, table: values.table, json: values.json });
      return 0;
    case 'backend':
      await backendCommand({
        ...remote,
        verb: rest[0],
        lb: values.lb,
        backend: rest[1],
        weight: values.weight,
        dryRun: values['dry-run'],
      });
      return 0;
    case 'route':
      await routeCommand({
        ...remote,
        verb: rest[0],
        table: values.table,
        destination: rest[1],
        target: rest[2],
        dryRun: values['dry-run'],
      });
      return 0;
    case 'flows':
      await flowsCommand({
        ...remote,
        json: values.json,
        flush: values.flush,
        query: {
          vpc: values.vpc,
          ip: values.ip,
          port: values.port,
          protocol: values.protocol,
          state: values.state,
          limit: values.limit,
        },
      });
      return 0;
    case 'neighbors':
      await neighborsCommand({ ...remote, json: values.json });
      return 0;
    case 'lb':
      await lbCommand({ ...remote, json: values.json });
      return 0;
    case 'trace':
      await traceCommand({
        ...remote,
        port: values.port,
        filter: values.filter,
        count: values.count,
        timeout: values.timeout,
        json: values.json,
      });
      return 0;
    case 'capture':
      await captureCommand({
        ...remote,
        port: values.port,
        filter: values.filter,
        count: values.count,
        duration: values.duration,
        direction: values.direction,
        snaplen: values.snaplen,
        write: values.write,
      });
      return 0;
    case 'get':
    case 'put':
    case 'delete':
      await resourceCommand({
        ...remote,
        verb: command,
        collection: rest[0],
        id: rest[1],
        config: values.config,
        dryRun: values['dry-run'],
      });
      return 0;
    case 'lab':
      await labCommand(rest[0], {
        scenario: values.scenario,
        prefix: values.prefix,
        queues: values.queues ? Number(values.queues) : undefined,
        type: transport,
        out: values.out,
      });
      return 0;
    case 'demo': {
      const { demo } = await import('./demo.js');
      return (await demo({ json: values.json, type: transport })) ? 0 : 1;
    }
    case 'bench': {
      const { runBenchmarks } = await import('../../bench/run.js');
      await runBenchmarks({ json: values.json ?? false, report: values.report ?? false, scenarios: rest });
      return 0;
    }
    default:
      process.stderr.write(`nfvgw: unknown command ${command}\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e) => {
    printError(e);
    process.exitCode = 1;
  },
);
