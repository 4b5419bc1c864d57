// Who may call the REST API. Once an admin token is configured, every call
// but GET /healthz (and GET /metrics when made public) needs a bearer token:
// the read token or the admin token to read, the admin token to change
// anything. Tokens are compared as SHA-256 digests in constant time, and
// never logged. Also here: where the tokens and the TLS certificate come
// from (flags, then the environment), and the refusal to serve an open API
// on anything but a loopback address.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { NfvgwError } from '../core/errors.js';

/** Why a request was refused: the `reason` label of nfvgw_api_auth_failures_total. */
export const AUTH_FAILURES = ['missing', 'malformed', 'invalid', 'read_only'] as const;
export type AuthFailure = (typeof AUTH_FAILURES)[number];

/** What a request needs: nothing, the read (or admin) token, or the admin token. */
export type Access = 'open' | 'read' | 'admin';

export interface ApiAuth {
  /** Needed for every change (PUT, DELETE, POST, ...); also good for reading. */
  adminToken: string;
  /** Good for reading (GET) only. */
  readToken?: string;
  /** Serve GET /metrics without a token (for scrapers that cannot send one). */
  publicMetrics?: boolean;
}

/**
 * The access a request needs, from its method and raw URL. Only the exact
 * paths /healthz (and /metrics when public) are open, so any other spelling
 * of them falls on the safe side; GET and HEAD read, every other method
 * changes, whether or not a route exists (an unauthenticated caller cannot
 * probe which routes there are).
 */
export function requiredAccess(method: string, url: string, publicMetrics = false): Access {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const reads = method === 'GET' || method === 'HEAD';
  if (!reads) return 'admin';
  // A capture is a GET, and shows what the packets carry: admin only.
  if (path === '/v1/capture') return 'admin';
  if (path === '/healthz' || (publicMetrics && path === '/metrics')) return 'open';
  return 'read';
}

export type AuthResult = { ok: true } | { ok: false; reason: AuthFailure };

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Checks Authorization headers against the configured tokens. */
export class TokenChecker {
  readonly #admin: Buffer;
  readonly #read: Buffer | undefined;

  constructor(auth: ApiAuth) {
    this.#admin = digest(auth.adminToken);
    this.#read = auth.readToken === undefined ? undefined : digest(auth.readToken);
  }

  /** Whether `authorization` (the header, if any) grants `need`. */
  check(authorization: string | undefined, need: Access): AuthResult {
    if (need === 'open') return { ok: true };
    if (authorization === undefined || authorization === '') return { ok: false, reason: 'missing' };
    const m = /^Bearer +([\x21-\x7e]+) *$/i.exec(authorization);
    if (!m) return { ok: false, reason: 'malformed' };
    // Both digests are compared every time: equal lengths, constant time,
    // and the time does not say which token came close.
    const presented = digest(m[1]!);
    const admin = timingSafeEqual(presented, this.#admin);
    const read = this.#read !== undefined && timingSafeEqual(presented, this.#read);
    if (admin) return { ok: true };
    if (!read) return { ok: false, reason: 'invalid' };
    return need === 'read' ? { ok: true } : { ok: false, reason: 'read_only' };
  }
}

/** The refusal for `reason`: status, error code and message, and the WWW-Authenticate header (RFC 6750). */
export function refusal(reason: AuthFailure, method: string): { error: NfvgwError; challenge: string } {
  const realm = 'Bearer realm="nfvgw"';
  switch (reason) {
    case 'missing':
      return {
        error: new NfvgwError(
          'NFVGW_ERR_UNAUTHORIZED',
          'this gateway wants a token: send "Authorization: Bearer TOKEN" (the CLI: --token-file FILE or NFVGW_TOKEN)',
        ),
        challenge: realm,
      };
    case 'malformed':
      return {
        error: new NfvgwError(
          'NFVGW_ERR_UNAUTHORIZED',
          'the Authorization header is not "Bearer TOKEN" (one token of visible ASCII characters)',
        ),
        challenge: `${realm}, error="invalid_request"`,
      };
    case 'invalid':
      return {
        error: new NfvgwError('NFVGW_ERR_UNAUTHORIZED', 'the token is not valid for this gateway'),
        challenge: `${realm}, error="invalid_token"`,
      };
    case 'read_only':
      return {
        error: new NfvgwError(
          'NFVGW_ERR_FORBIDDEN',
          method === 'GET' || method === 'HEAD'
            ? 'the read-only token cannot capture packets: that needs the admin token'
            : `the read-only token cannot ${method}: changes need the admin token`,
        ),
        challenge: `${realm}, error="insufficient_scope"`,
      };
  }
}

// --- Where the tokens and the certificate come from.

/** A token and where it came from (for the start-up log; never the token itself). */
export interface Secret {
  value: string;
  source: string;
}

/**
 * A token from `file` (the flag) or else the environment variable `envName`.
 * One trailing newline (or several, or CRLF) is removed; what remains must be
 * non-empty visible ASCII without spaces, as it goes in an HTTP header.
 * Returns undefined when neither is given; throws NFVGW_ERR_API_SETUP for an
 * unreadable or empty file, or a token with other characters.
 */
export function loadToken(
  file: string | undefined,
  flag: string,
  envName: string,
  env: NodeJS.ProcessEnv = process.env,
): Secret | undefined {
  let raw: string;
  let source: string;
  if (file !== undefined) {
    source = `${flag} ${file}`;
    try {
      raw = readFileSync(file, 'utf8');
    } catch (e) {
      throw new NfvgwError(
        'NFVGW_ERR_API_SETUP',
        `${source}: cannot read the token (${(e as Error).message})`,
      );
    }
  } else if (env[envName] !== undefined) {
    source = envName;
    raw = env[envName]!;
  } else return undefined;
  const value = raw.replace(/[\r\n]+$/, '');
  if (value === '') throw new NfvgwError('NFVGW_ERR_API_SETUP', `${source}: the token is empty`);
  if (!/^[\x21-\x7e]+$/.test(value))
    throw new NfvgwError(
      'NFVGW_ERR_API_SETUP',
      `${source}: the token has a space, a control or a non-ASCII character (only its trailing newline is removed)`,
    );
  return { value, source };
}

function readPem(file: string, what: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (e) {
    throw new NfvgwError('NFVGW_ERR_API_SETUP', `${what} ${file}: cannot read it (${(e as Error).message})`);
  }
  if (!pem.includes('-----BEGIN '))
    throw new NfvgwError('NFVGW_ERR_API_SETUP', `${what} ${file}: not a PEM file`);
  return pem;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether `host` (an --api host) is a loopback address (any spelling); a name other than localhost counts as not. */
export function isLoopback(host: string): boolean {
  const family = isIP(host);
  if (family === 0) return host.toLowerCase() === 'localhost';
  return LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

export interface ApiSecurityOptions {
  tokenFile?: string;
  readTokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  publicMetrics?: boolean;
}

export interface ApiSecurity {
  auth?: ApiAuth;
  tls?: { cert: Buffer; key: Buffer };
  /** For the start-up log: where each part came from; no secrets. */
  summary: Record<string, string | boolean>;
  /** Things an operator should hear about at start. */
  warnings: string[];
}

function envFlag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new NfvgwError('NFVGW_ERR_API_SETUP', `${name} is 1, true, 0 or false, not ${v}`);
}

/**
 * The API's access control and TLS for `nfvgw run`, from the flags and, for
 * what they leave out, the environment (NFVGW_TOKEN, NFVGW_READ_TOKEN,
 * NFVGW_TLS_CERT, NFVGW_TLS_KEY, NFVGW_PUBLIC_METRICS). Throws
 * NFVGW_ERR_API_SETUP, before anything is opened, when a file cannot be used,
 * when a read token comes without an admin token or equals it, when only
 * half of the certificate is given, and when the API would listen on a
 * non-loopback address without an admin token.
 */
export function resolveApiSecurity(
  opts: ApiSecurityOptions,
  listenHost: string,
  env: NodeJS.ProcessEnv = process.env,
): ApiSecurity {
  const admin = loadToken(opts.tokenFile, '--token-file', 'NFVGW_TOKEN', env);
  const read = loadToken(opts.readTokenFile, '--read-token-file', 'NFVGW_READ_TOKEN', env);
  const publicMetrics = opts.publicMetrics ?? envFlag(env, 'NFVGW_PUBLIC_METRICS') ?? false;
  const certFile = opts.tlsCert ?? (env.NFVGW_TLS_CERT || undefined);
  const keyFile = opts.tlsKey ?? (env.NFVGW_TLS_KEY || undefined);
  const warnings: string[] = [];

  if (read && !admin)
    throw new NfvgwError(
      'NFVGW_ERR_API_SETUP',
      `a read-only token (${read.source}) needs an admin token too: give --token-file FILE or NFVGW_TOKEN`,
    );
  if (read && admin && read.value === admin.value)
    throw new NfvgwError(
      'NFVGW_ERR_API_SETUP',
      `the read-only token (${read.source}) is the admin token (${admin.source}): it would allow changes`,
    );
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new NfvgwError(
      'NFVGW_ERR_API_SETUP',
      'HTTPS needs both --tls-cert FILE and --tls-key FILE (or NFVGW_TLS_CERT and NFVGW_TLS_KEY)',
    );
  let tls: ApiSecurity['tls'];
  if (certFile !== undefined && keyFile !== undefined) {
    tls = { cert: readPem(certFile, '--tls-cert'), key: readPem(keyFile, '--tls-key') };
    try {
      createSecureContext(tls); // a wrong key or a broken PEM is found now, not at the first client
    } catch (e) {
      throw new NfvgwError(
        'NFVGW_ERR_API_SETUP',
        `--tls-cert ${certFile} with --tls-key ${keyFile}: ${(e as Error).message}`,
      );
    }
  }
  const loopback = isLoopback(listenHost);
  if (!admin && !loopback)
    throw new NfvgwError(
      'NFVGW_ERR_API_SETUP',
      `the API would listen on ${listenHost}, not a loopback address, with no token: anyone who reaches it ` +
        'could change the configuration. Give an admin token (--token-file FILE or NFVGW_TOKEN), or listen on 127.0.0.1',
    );
  if (!admin)
    warnings.push(
      'the API has no token: anyone on this host can change the configuration (give --token-file)',
    );
  if (admin && !tls && !loopback)
    warnings.push(
      `the API listens on ${listenHost} without TLS: tokens cross the network in clear text (give --tls-cert and --tls-key)`,
    );
  for (const t of [admin, read])
    if (t && t.value.length < 16)
      warnings.push(`the token from ${t.source} is short (${t.value.length} characters)`);
  if (publicMetrics && !admin) warnings.push('--public-metrics has no effect without a token');

  return {
    auth: admin ? { adminToken: admin.value, readToken: read?.value, publicMetrics } : undefined,
    tls,
    summary: {
      adminToken: admin?.source ?? 'none',
      readToken: read?.source ?? 'none',
      metrics: admin && !publicMetrics ? 'token' : 'open',
      tls: tls ? `${certFile}` : false,
    },
    warnings,
  };
}
