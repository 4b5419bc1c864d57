// The API's access rules without a gateway: which requests need which
// token, how Authorization headers are judged, where tokens and
// certificates come from, and what `nfvgw run` refuses to start with.
// Needs openssl (a throwaway certificate); no root.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isLoopback,
  loadToken,
  refusal,
  requiredAccess,
  resolveApiSecurity,
  TokenChecker,
} from '../../src/api/auth.js';
import { parseApiUrl } from '../../src/api/client.js';
import { ERRORS } from '../../src/core/errors.js';
import { selfSignedCert } from '../support/cert.js';

const ADMIN = 'admin-0123456789abcdef';
const READ = 'read-0123456789abcdef';
let dir: string;
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nfvgw-auth-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('requiredAccess', () => {
  it.each([
    ['GET', '/healthz', false, 'open'],
    ['HEAD', '/healthz', false, 'open'],
    ['GET', '/healthz?verbose=1', false, 'open'],
    ['GET', '/metrics', false, 'read'],
    ['GET', '/metrics', true, 'open'],
    ['GET', '/v1/status', true, 'read'],
    ['GET', '/v1/errors', false, 'read'],
    ['GET', '/v1/no-such-route', false, 'read'],
    ['PUT', '/v1/config', false, 'admin'],
    ['DELETE', '/v1/flows?protocol=udp', false, 'admin'],
    ['POST', '/healthz', false, 'admin'],
    ['OPTIONS', '/v1/status', false, 'admin'],
    // Other spellings of the open paths are not open.
    ['GET', '/healthz/', false, 'read'],
    ['GET', '//healthz', false, 'read'],
    ['GET', '/%68ealthz', false, 'read'],
    ['GET', '/HEALTHZ', false, 'read'],
    ['GET', '/metrics/', true, 'read'],
  ] as const)('%s %s (public metrics %s): %s', (method, url, publicMetrics, access) => {
    expect(requiredAccess(method, url, publicMetrics)).toBe(access);
  });
});

describe('TokenChecker', () => {
  const both = new TokenChecker({ adminToken: ADMIN, readToken: READ });
  const adminOnly = new TokenChecker({ adminToken: ADMIN });

  it('lets anyone through where nothing is needed', () => {
    expect(both.check(undefined, 'open')).toEqual({ ok: true });
  });

  it('tells a missing header from a malformed one', () => {
    expect(both.check(undefined, 'read')).toEqual({ ok: false, reason: 'missing' });
    expect(both.check('', 'read')).toEqual({ ok: false, reason: 'missing' });
    for (const h of [
      `Basic ${Buffer.from(`u:${ADMIN}`).toString('base64')}`,
      'Bearer',
      'Bearer ',
      ADMIN,
      `Bearer ${ADMIN} extra`,
      `Bearer\t${ADMIN}`,
      `Token ${ADMIN}`,
    ])
      expect(both.check(h, 'read'), h).toEqual({ ok: false, reason: 'malformed' });
  });

  it('takes the admin token for everything, the read token for reading only', () => {
    expect(both.check(`Bearer ${ADMIN}`, 'read')).toEqual({ ok: true });
    expect(both.check(`Bearer ${ADMIN}`, 'admin')).toEqual({ ok: true });
    expect(both.check(`bearer  ${ADMIN} `, 'admin')).toEqual({ ok: true }); // the scheme is case-insensitive
    expect(both.check(`Bearer ${READ}`, 'read')).toEqual({ ok: true });
    expect(both.check(`Bearer ${READ}`, 'admin')).toEqual({ ok: false, reason: 'read_only' });
  });

  it('refuses tokens that are not exactly a configured one', () => {
    for (const t of [
      'wrong',
      ADMIN.slice(0, -1),
      `${ADMIN}x`,
      ADMIN.toUpperCase(),
      READ.slice(1),
      `${READ}${ADMIN}`,
    ]) {
      expect(both.check(`Bearer ${t}`, 'read'), t).toEqual({ ok: false, reason: 'invalid' });
      expect(both.check(`Bearer ${t}`, 'admin'), t).toEqual({ ok: false, reason: 'invalid' });
    }
    // Without a read token, the read token is just a wrong one.
    expect(adminOnly.check(`Bearer ${READ}`, 'read')).toEqual({ ok: false, reason: 'invalid' });
  });
});

describe('refusal', () => {
  it('is 401 with a Bearer challenge, or 403 for a read-only token, with catalogued codes', () => {
    for (const reason of ['missing', 'malformed', 'invalid'] as const) {
      const r = refusal(reason, 'PUT');
      expect(r.error.status).toBe(401);
      expect(r.error.code).toBe('NFVGW_ERR_UNAUTHORIZED');
      expect(r.challenge).toMatch(/^Bearer realm="nfvgw"/);
    }
    expect(refusal('invalid', 'GET').challenge).toContain('error="invalid_token"');
    const ro = refusal('read_only', 'DELETE');
    expect(ro.error).toMatchObject({ status: 403, code: 'NFVGW_ERR_FORBIDDEN' });
    expect(ro.error.message).toContain('DELETE');
    expect(ro.challenge).toContain('insufficient_scope');
    expect(ERRORS.NFVGW_ERR_UNAUTHORIZED.status).toBe(401);
    expect(ERRORS.NFVGW_ERR_FORBIDDEN.status).toBe(403);
  });
});

describe('loadToken', () => {
  it('reads a file, removing its trailing newline', () => {
    expect(loadToken(file('a', `${ADMIN}\n`), '--token-file', 'NFVGW_TOKEN', {})).toEqual({
      value: ADMIN,
      source: `--token-file ${join(dir, 'a')}`,
    });
    expect(loadToken(file('b', `${ADMIN}\r\n`), '--token-file', 'NFVGW_TOKEN', {})?.value).toBe(ADMIN);
    expect(loadToken(file('c', ADMIN), '--token-file', 'NFVGW_TOKEN', {})?.value).toBe(ADMIN);
  });

  it('takes the environment when there is no file, and the file over the environment', () => {
    expect(loadToken(undefined, '--token-file', 'NFVGW_TOKEN', { NFVGW_TOKEN: READ })).toEqual({
      value: READ,
      source: 'NFVGW_TOKEN',
    });
    expect(loadToken(file('d', ADMIN), '--token-file', 'NFVGW_TOKEN', { NFVGW_TOKEN: READ })?.value).toBe(
      ADMIN,
    );
    expect(loadToken(undefined, '--token-file', 'NFVGW_TOKEN', {})).toBeUndefined();
  });

  it('refuses an empty or unreadable file, an empty variable, and tokens that cannot go in a header', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => loadToken(file('e', ''), '--token-file', 'T', {}), /--token-file .*\/e: the token is empty/],
      [() => loadToken(file('f', '\n\n'), '--token-file', 'T', {}), /the token is empty/],
      [
        () => loadToken(join(dir, 'missing'), '--token-file', 'T', {}),
        /missing: cannot read the token.*ENOENT/,
      ],
      [() => loadToken(dir, '--token-file', 'T', {}), /cannot read the token.*EISDIR/],
      [
        () => loadToken(undefined, '--token-file', 'NFVGW_TOKEN', { NFVGW_TOKEN: '' }),
        /NFVGW_TOKEN: .*empty/,
      ],
      [() => loadToken(file('g', 'two words\n'), '--token-file', 'T', {}), /a space, a control/],
      [() => loadToken(file('h', ' lead'), '--token-file', 'T', {}), /a space/],
      [() => loadToken(file('i', 'tökén'), '--token-file', 'T', {}), /non-ASCII/],
    ];
    for (const [f, message] of bad) {
      expect(f).toThrow(message);
      try {
        f();
      } catch (e) {
        expect((e as { code: string }).code).toBe('NFVGW_ERR_API_SETUP');
      }
    }
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['localhost', true],
    ['LOCALHOST', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.1', false],
    ['128.0.0.1', false],
    ['::2', false],
    ['::ffff:10.0.0.1', false],
    ['gateway.example', false],
    ['localhost.example', false],
  ])('%s: %s', (host, loopback) => {
    expect(isLoopback(host)).toBe(loopback);
  });
});

describe('resolveApiSecurity', () => {
  let cert: string;
  let key: string;
  let otherKey: string;
  beforeAll(() => {
    ({ cert, key } = selfSignedCert(dir));
    otherKey = join(dir, 'other-key.pem');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', otherKey]);
  });

  it('without tokens: open on loopback, with a warning', () => {
    const s = resolveApiSecurity({}, '127.0.0.1', {});
    expect(s.auth).toBeUndefined();
    expect(s.tls).toBeUndefined();
    expect(s.warnings.join()).toMatch(/no token/);
    expect(resolveApiSecurity({}, '::1', {}).auth).toBeUndefined();
  });

  it('refuses a non-loopback address without an admin token', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'gateway.example'])
      expect(() => resolveApiSecurity({}, host, {})).toThrow(/not a loopback address, with no token/);
    // An admin token from the environment is enough.
    const s = resolveApiSecurity({}, '0.0.0.0', { NFVGW_TOKEN: ADMIN });
    expect(s.auth).toEqual({ adminToken: ADMIN, readToken: undefined, publicMetrics: false });
    expect(s.warnings.join()).toMatch(/without TLS/);
  });

  it('takes the tokens from files or the environment, and says where from, never what', () => {
    const s = resolveApiSecurity(
      { tokenFile: file('admin', `${ADMIN}\n`), publicMetrics: true },
      '127.0.0.1',
      { NFVGW_READ_TOKEN: READ, NFVGW_TOKEN: 'ignored-because-of-the-file' },
    );
    expect(s.auth).toEqual({ adminToken: ADMIN, readToken: READ, publicMetrics: true });
    expect(s.summary).toEqual({
      adminToken: `--token-file ${join(dir, 'admin')}`,
      readToken: 'NFVGW_READ_TOKEN',
      metrics: 'open',
      tls: false,
    });
    expect(JSON.stringify(s.summary) + s.warnings.join()).not.toContain(ADMIN);
    expect(
      resolveApiSecurity({}, '127.0.0.1', { NFVGW_TOKEN: ADMIN, NFVGW_PUBLIC_METRICS: '1' }).auth,
    ).toMatchObject({ publicMetrics: true });
    expect(() => resolveApiSecurity({}, '127.0.0.1', { NFVGW_PUBLIC_METRICS: 'yes' })).toThrow(
      /NFVGW_PUBLIC_METRICS is 1, true, 0 or false/,
    );
  });

  it('warns about short tokens', () => {
    expect(resolveApiSecurity({}, '127.0.0.1', { NFVGW_TOKEN: 'short' }).warnings.join()).toMatch(
      /NFVGW_TOKEN is short \(5 characters\)/,
    );
  });

  it('refuses a read token alone, or one equal to the admin token', () => {
    expect(() => resolveApiSecurity({}, '127.0.0.1', { NFVGW_READ_TOKEN: READ })).toThrow(
      /needs an admin token too/,
    );
    expect(() =>
      resolveApiSecurity({}, '127.0.0.1', { NFVGW_READ_TOKEN: ADMIN, NFVGW_TOKEN: ADMIN }),
    ).toThrow(/is the admin token/);
  });

  it('loads a certificate and key, and refuses half of one, a wrong key or a non-PEM file', () => {
    const s = resolveApiSecurity({ tlsCert: cert, tlsKey: key }, '127.0.0.1', { NFVGW_TOKEN: ADMIN });
    expect(s.tls?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(s.summary.tls).toBe(cert);
    expect(
      resolveApiSecurity({}, '127.0.0.1', { NFVGW_TLS_CERT: cert, NFVGW_TLS_KEY: key }).tls,
    ).toBeDefined();
    expect(() => resolveApiSecurity({ tlsCert: cert }, '127.0.0.1', {})).toThrow(/needs both --tls-cert/);
    expect(() => resolveApiSecurity({}, '127.0.0.1', { NFVGW_TLS_KEY: key })).toThrow(/needs both/);
    expect(() => resolveApiSecurity({ tlsCert: cert, tlsKey: otherKey }, '127.0.0.1', {})).toThrow(
      /--tls-key .*other-key.pem: .*(mismatch|key)/i,
    );
    expect(() =>
      resolveApiSecurity({ tlsCert: file('notpem', 'hello'), tlsKey: key }, '127.0.0.1', {}),
    ).toThrow(/--tls-cert .*notpem: not a PEM file/);
    expect(() =>
      resolveApiSecurity({ tlsCert: join(dir, 'nope.pem'), tlsKey: key }, '127.0.0.1', {}),
    ).toThrow(/--tls-cert .*nope.pem: cannot read it/);
  });
});

describe('parseApiUrl (the CLI --api)', () => {
  it.each([
    [undefined, { host: '127.0.0.1', port: 9180, tls: false }],
    ['10.0.0.1:9180', { host: '10.0.0.1', port: 9180, tls: false }],
    ['http://10.0.0.1:80', { host: '10.0.0.1', port: 80, tls: false }],
    ['https://gw.example:9443/', { host: 'gw.example', port: 9443, tls: true }],
    ['HTTPS://[::1]:9443', { host: '::1', port: 9443, tls: true }],
    ['[fe80::1]:9180', { host: 'fe80::1', port: 9180, tls: false }],
    [':9180', { host: '127.0.0.1', port: 9180, tls: false }],
  ])('%s', (text, target) => {
    expect(parseApiUrl(text)).toEqual(target);
  });

  it.each(['10.0.0.1', 'https://10.0.0.1', 'ftp://10.0.0.1:21', 'https://h:0', 'h:70000', 'https://h:1/v1'])(
    'refuses %s',
    (text) => {
      expect(() => parseApiUrl(text)).toThrow(/--api wants HOST:PORT or https:\/\/HOST:PORT/);
    },
  );
});
