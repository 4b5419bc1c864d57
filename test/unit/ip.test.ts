// The address parsers every configuration field goes through: exact
// dotted quads and prefixes accepted, everything else refused.
import { describe, expect, it } from 'vitest';
import { formatIp4, formatPrefix, parseIp4, parsePrefix } from '../../src/config/ip.js';

describe('parseIp4', () => {
  it('reads dotted quads and formats them back', () => {
    for (const text of ['0.0.0.0', '10.0.1.2', '192.168.100.254', '255.255.255.255']) {
      const v = parseIp4(text);
      expect(v).not.toBeNull();
      expect(formatIp4(v!)).toBe(text);
    }
    expect(parseIp4('1.2.3.4')).toBe(0x01020304);
    expect(parseIp4('255.255.255.255')).toBe(0xffffffff);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.',
    '.1.2.3',
    '1..2.3',
    '256.1.1.1',
    '1.2.3.256',
    '1.2.3.1000',
    '01.2.3.4',
    '1.2.3.04',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1.2.3.4/24',
    '1.2.3.x',
    '-1.2.3.4',
    '1.2.3.+4',
  ])('refuses %j', (text) => {
    expect(parseIp4(text)).toBeNull();
  });
});

describe('parsePrefix', () => {
  it('reads address and length', () => {
    expect(parsePrefix('10.0.0.0/8')).toEqual({ ip: 0x0a000000, len: 8 });
    expect(parsePrefix('0.0.0.0/0')).toEqual({ ip: 0, len: 0 });
    expect(parsePrefix('10.1.2.3/32')).toEqual({ ip: 0x0a010203, len: 32 });
    expect(formatPrefix(parsePrefix('172.16.4.0/22')!)).toBe('172.16.4.0/22');
  });

  it.each([
    '10.0.0.0',
    '10.0.0.0/',
    '10.0.0.0/33',
    '10.0.0.0/100',
    '10.0.0.0/2x',
    '10.0.0.0/-1',
    '10.0.0/8',
    '10.0.0.0.0/8',
    '10.0.0.0//8',
    '/8',
    '300.0.0.0/8',
    '10.0.0.0/8 ',
  ])('refuses %j', (text) => {
    expect(parsePrefix(text)).toBeNull();
  });
});
