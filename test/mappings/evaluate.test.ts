import { describe, expect, it } from 'vitest';
import { CTX, run, runInterpreted, snapshot } from './helpers.js';

const deals = snapshot('hubspot-deals.json');
const opp = snapshot('salesforce-opportunity.json');

describe('expression semantics', () => {
  it('reads fields, decoding HubSpot wire strings by the schema type', () => {
    const rec = { amount: '5000.50', closedate: '1795305600000', hs_is_closed: 'true', dealname: 'Big', hs_lastmodifieddate: '2026-11-22T10:15:30.000+0000' };
    expect(run('amount', rec, { schema: deals })).toBe(5000.5);
    expect(run('closedate', rec, { schema: deals })).toBe('2026-11-22T00:00:00.000Z');
    expect(run('hs_is_closed', rec, { schema: deals })).toBe(true);
    expect(run('hs_lastmodifieddate', rec, { schema: deals })).toBe('2026-11-22T10:15:30.000Z');
    expect(run('amount >= 5000', rec, { schema: deals })).toBe(true);
    expect(run('amount', { amount: '' }, { schema: deals })).toBe(null);
    expect(run('missing_field')).toBe(null);
    // without a schema the raw value is used
    expect(run('amount', rec)).toBe('5000.50');
  });

  it('names the field when a source value cannot be decoded', () => {
    expect(run('amount + 1', { amount: 'lots' }, { schema: deals })).toEqual({ error: 'source field amount: cannot read text "lots" as a number' });
    expect(run('closedate', { closedate: 'next tuesday' }, { schema: deals })).toEqual({ error: expect.stringContaining('source field closedate: cannot read text "next tuesday" as a datetime') });
  });

  it('relationship paths read the flat dotted key', () => {
    expect(run('Account.Name', { 'Account.Name': 'Globex' }, { schema: opp })).toBe('Globex');
  });

  it('does arithmetic with null propagation and refuses nonsense', () => {
    expect(run('2 + 3 * 4 - 1')).toBe(13);
    expect(run('7 % 4 + 10 / 4')).toBe(5.5);
    expect(run('x * 2', { x: null })).toBe(null);
    expect(run('-x', { x: 3 })).toBe(-3);
    expect(run('1 / 0')).toEqual({ error: 'division by zero' });
    expect(run('x - 1', { x: 'a' })).toEqual({ error: 'cannot apply "-" to text "a" and number 1' });
    expect(run('true + 1')).toEqual({ error: 'cannot add boolean true and number 1' });
  });

  it('concatenates with + and templates; null is empty text there', () => {
    expect(run('"Registered by " + $partner.name')).toBe('Registered by Acme Consulting');
    expect(run('a + "-" + b', { a: 'x', b: null })).toBe('x-');
    expect(run('"n=" + 5')).toBe('n=5');
    expect(run('`${$partner.id}:${id} (${n})`', { id: '42', n: 1.5 })).toBe('acme:42 (1.5)');
    expect(run('`${missing}`')).toBe('');
    expect(run('`${split("a,b", ",")}`')).toEqual({ error: 'cannot use a list as text; use join() for lists' });
  });

  it('compares strictly and treats null as false in orderings', () => {
    expect(run('1 == 1 and "a" != "b"')).toBe(true);
    expect(run('x == "1"', { x: 1 })).toBe(false);
    expect(run('x < 5', { x: null })).toBe(false);
    expect(run('"2026-01-02" > "2026-01-01"')).toBe(true);
    expect(run('x < 5', { x: 'a' })).toEqual({ error: 'cannot compare text "a" with number 5' });
    expect(run('s in ["closedwon", "closedlost"]', { s: 'closedwon' })).toBe(true);
    expect(run('s in null', { s: 'x' })).toBe(false);
  });

  it('and/or/not use truthiness (null, false and "" are false) and short-circuit', () => {
    expect(run('x and y', { x: 'a', y: 0 })).toBe(true);
    expect(run('x or y', { x: '', y: null })).toBe(false);
    expect(run('not x', { x: null })).toBe(true);
    expect(run('false and 1 / 0 == 1')).toBe(false);
    expect(run('true or 1 / 0 == 1')).toBe(true);
  });

  it('?? and coalesce pick the first present value; if-then-else branches', () => {
    expect(run('x ?? "d"', { x: null })).toBe('d');
    expect(run('x ?? "d"', { x: '' })).toBe('');
    expect(run('coalesce(x, y, "z")', { x: '', y: null })).toBe('z');
    expect(run('if x > 10 then "big" else if x > 5 then "mid" else "small"', { x: 7 })).toBe('mid');
  });

  it('looks values up in value maps, with numbers as text keys', () => {
    const valueMaps = { stages: { closedwon: 'Closed Won' }, prio: { '1': 'Low' } };
    expect(run('stages[s] ?? "Prospecting"', { s: 'closedwon' }, { valueMaps })).toBe('Closed Won');
    expect(run('stages[s] ?? "Prospecting"', { s: 'other' }, { valueMaps })).toBe('Prospecting');
    expect(run('stages[s]', { s: null }, { valueMaps })).toBe(null);
    expect(run('prio[p]', { p: 1 }, { valueMaps })).toBe('Low');
    // inherited names are not keys
    expect(run('stages[s]', { s: 'toString' }, { valueMaps })).toBe(null);
  });

  it('context objects expose their own data keys only', () => {
    expect(run('$partner.tier')).toBe('gold');
    expect(run('$partner.roles[0]')).toBe('sourcing');
    expect(run('$partner["toString"]')).toBe(null);
    expect(run('$partner["__proto__"]')).toEqual({ error: 'the key "__proto__" is not allowed' });
    expect(run('$partner["constructor"]')).toEqual({ error: 'the key "constructor" is not allowed' });
    expect(run('$registration.status', {}, { ctx: { now: CTX.now } })).toBe(null);
    expect(run('$now')).toBe('2026-11-22T10:00:00.000Z');
    // record keys named like Object.prototype members are plain data
    expect(run('toString', { toString: 'x' })).toBe('x');
    expect(run('valueOf', {})).toBe(null);
    // a class instance in the context is not data
    expect(run('$link.x', {}, { ctx: { now: CTX.now, link: new (class { x = 1 })() as unknown as Record<string, unknown> } })).toBe(null);
  });

  it('runs the standard library', () => {
    expect(run('trim("  a b ")')).toBe('a b');
    expect(run('lower("AbC") + upper("x")')).toBe('abcX');
    expect(run('substring("abcdef", 2, 3)')).toBe('cde');
    expect(run('substring("abcdef", 4)')).toBe('ef');
    expect(run('replace("a.b.c", ".", "-")')).toBe('a-b-c');
    expect(run('join(split("a,b,,c", ","), "|")')).toBe('a|b||c');
    expect(run('join(["x", null, "y"])')).toBe('x;y');
    expect(run('number(" 42.5 ")')).toBe(42.5);
    expect(run('number("")')).toBe(null);
    expect(run('number("0x10")')).toEqual({ error: 'cannot read text "0x10" as a number' });
    expect(run('round(2.345, 2)')).toBe(2.35);
    expect(run('round(-2.5)')).toBe(-3);
    expect(run('date("2026-11-22T23:30:00-05:00")')).toBe('2026-11-23');
    expect(run('date(1795305600000)')).toBe('2026-11-22');
    expect(run('date("2026-02-30")')).toEqual({ error: expect.stringContaining('cannot read text "2026-02-30" as a date') });
    expect(run('datetime("2026-11-22")')).toBe('2026-11-22T00:00:00.000Z');
    expect(run('format(1234567.891, "#,##0.00")')).toBe('1,234,567.89');
    expect(run('format(-1234.5, "#,##0")')).toBe('-1,235');
    expect(run('format("2026-03-04T05:06:07.089Z", "DD/MM/YYYY HH:mm:ss.SSS")')).toBe('04/03/2026 05:06:07.089');
    expect(run('addDays("2026-12-30", 3)')).toBe('2027-01-02');
    expect(run('addDays("2026-12-30T10:00:00.000Z", -1)')).toBe('2026-12-29T10:00:00.000Z');
    expect(run('now()')).toBe('2026-11-22T10:00:00.000Z');
    expect(run('today()')).toBe('2026-11-22');
    expect(run('domain("https://www.Acme.co.uk/about")')).toBe('acme.co.uk');
    expect(run('domain("jane@sales.globex.com")')).toBe('globex.com');
    expect(run('domain("someone@gmail.com")')).toBe(null);
    expect(run('domain("localhost")')).toBe(null);
    expect(run('string(5) + string(true)')).toBe('5true');
    expect(run('length("abc") + length(["a"]) + length(null)')).toBe(4);
    expect(run('contains("abc", "b") and startsWith("abc", "a") and endsWith("abc", "c")')).toBe(true);
    expect(run('isBlank("  ") and not isBlank("x")')).toBe(true);
    expect(run('abs(-2) + floor(1.7) + ceil(1.2)')).toBe(5);
    expect(run('min(3, null, 1) + max(3, 9)')).toBe(10);
  });

  it('the reference interpreter agrees on every case above', () => {
    for (const [text, rec] of [['amount >= 5000', { amount: '6000' }], ['`${a}-${b}`', { a: 1, b: null }], ['x ?? 1 / 0', { x: null }], ['$partner["constructor"]', {}]] as const) {
      expect(runInterpreted(text, rec, { schema: deals })).toEqual(run(text, rec, { schema: deals }));
    }
  });
});
