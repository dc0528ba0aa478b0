import { describe, expect, it } from 'vitest';
import { dictionaries, translate, walletName } from './i18n';

describe('i18n dictionaries', () => {
  it('zh and en have the same keys', () => {
    expect(Object.keys(dictionaries.en).sort()).toEqual(Object.keys(dictionaries.zh).sort());
  });

  it('has no empty string', () => {
    for (const [lang, dict] of Object.entries(dictionaries)) {
      for (const [key, text] of Object.entries(dict)) {
        expect(typeof text, `${lang}.${key}`).toBe('string');
        expect(text.trim(), `${lang}.${key}`).not.toBe('');
      }
    }
  });

  it('uses the same placeholders in both languages', () => {
    const holes = (s: string) => (s.match(/\{[a-z]+\}/gi) ?? []).sort();
    for (const key of Object.keys(dictionaries.zh) as (keyof typeof dictionaries.zh)[]) {
      expect(holes(dictionaries.en[key]), key).toEqual(holes(dictionaries.zh[key]));
    }
  });

  it('picks the English word by the number', () => {
    expect(translate('en', 'totalsCount', { n: 1 })).toBe('1 payment');
    expect(translate('en', 'totalsCount', { n: 0 })).toBe('0 payments');
    expect(translate('en', 'totalsCount', { n: 12 })).toBe('12 payments');
    expect(translate('zh', 'totalsCount', { n: 1 })).toBe('共 1 笔');
  });

  it('fills placeholders and names wallets', () => {
    expect(translate('zh', 'secondsLeft', { s: 42 })).toBe('剩余 42 秒');
    expect(translate('en', 'ceiling', { ceiling: '50000.00' })).toBe('Limit per payment ¥50000.00');
    expect(walletName('zh', 'alipay')).toBe('支付宝');
    expect(walletName('en', 'wechat')).toBe('WeChat Pay');
    expect(walletName('en', 'mystery')).toBe('mystery');
    expect(walletName('en', null)).toBeNull();
  });

  it("names a QR payment's tender as its channel's methods do, else as a known wallet", () => {
    const methods = [
      { code: 'WECHAT', name: '微信支付' },
      { code: 'UQRCODEPAY', name: '银联二维码' },
    ];
    expect(walletName('zh', 'UQRCODEPAY', methods)).toBe('银联二维码');
    expect(walletName('zh', 'WECHAT', methods)).toBe('微信支付');
    expect(walletName('en', 'ALIPAY', methods)).toBe('Alipay');
    expect(walletName('en', 'UQRCODEPAY')).toBe('UQRCODEPAY');
  });
});
