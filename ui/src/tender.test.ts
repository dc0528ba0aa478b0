import { describe, expect, it } from 'vitest';
import {
  hasMethodPicker,
  loadTender,
  nextChannel,
  opensCustomerWindow,
  pickChannel,
  pickMethod,
  saveTender,
  showsTenderBar,
} from './tender';
import { abcChannel, lakalaChannel, memoryStore, paysvcChannel } from './testFixtures';

const abc = abcChannel;
const lakala = lakalaChannel;
const paysvc = paysvcChannel;
const all = [abc, lakala, paysvc];

describe('tender helpers', () => {
  it('keeps the wanted channel while it is offered, else the default, else the first', () => {
    expect(pickChannel(all, 'lakala', 'abc')).toBe('lakala');
    expect(pickChannel(all, 'gone', 'paysvc')).toBe('paysvc');
    expect(pickChannel(all, '', 'abc')).toBe('abc');
    expect(pickChannel(all, null, 'unknown')).toBe('abc');
    expect(pickChannel([], 'abc', 'abc')).toBe('');
  });

  it('cycles channels in the core order and wraps round', () => {
    expect(nextChannel(all, 'abc')).toBe('lakala');
    expect(nextChannel(all, 'lakala')).toBe('paysvc');
    expect(nextChannel(all, 'paysvc')).toBe('abc');
    expect(nextChannel([abc], 'abc')).toBe('abc');
    expect(nextChannel(all, 'gone')).toBe('abc');
  });

  it('picks the wanted method when the channel offers it, else the first; none without methods', () => {
    expect(pickMethod(lakala, 'WECHAT')?.code).toBe('WECHAT');
    expect(pickMethod(lakala, undefined)?.code).toBe('ALIPAY');
    expect(pickMethod(lakala, 'ECNY')?.code).toBe('ALIPAY');
    expect(pickMethod(abc, 'WECHAT')).toBeNull();
    expect(pickMethod(paysvc, null)).toBeNull();
    expect(pickMethod(null, 'WECHAT')).toBeNull();
    // methods are QR tenders: a channel that cannot show a QR has no picker
    expect(pickMethod({ ...lakala, qr: false }, 'WECHAT')).toBeNull();
    expect(hasMethodPicker({ ...lakala, qr: false })).toBe(false);
  });

  it('shows the tender bar only when there is something to choose', () => {
    expect(showsTenderBar([abc], abc)).toBe(false);
    expect(showsTenderBar([paysvc], paysvc)).toBe(false);
    expect(showsTenderBar([lakala], lakala)).toBe(true);
    expect(showsTenderBar([abc, paysvc], abc)).toBe(true);
  });

  it('knows which channels open the customer window', () => {
    expect(opensCustomerWindow(paysvc)).toBe(true);
    expect(opensCustomerWindow(lakala)).toBe(false);
    expect(opensCustomerWindow(null)).toBe(false);
  });

  it('remembers the choice in the session store and ignores what it cannot read', () => {
    const store = memoryStore();
    expect(loadTender(store)).toEqual({ channel: '', methods: {} });
    saveTender(store, { channel: 'lakala', methods: { lakala: 'WECHAT' } });
    expect(loadTender(store)).toEqual({ channel: 'lakala', methods: { lakala: 'WECHAT' } });
    store.data.set('paydesk.tender', '{not json');
    expect(loadTender(store)).toEqual({ channel: '', methods: {} });
    store.data.set('paydesk.tender', JSON.stringify({ channel: 7, methods: { lakala: 'WECHAT', abc: 3 } }));
    expect(loadTender(store)).toEqual({ channel: '', methods: { lakala: 'WECHAT' } });
    expect(loadTender(null)).toEqual({ channel: '', methods: {} });
    expect(() => saveTender(null, { channel: 'abc', methods: {} })).not.toThrow();
  });
});
