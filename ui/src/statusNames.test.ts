// A payment is named by the core, once: the list row and the detail show `statusText` (with a
// refund's own names), and the UI keeps no dictionary of state or phase names of its own.
import { describe, expect, it, vi } from 'vitest';
import { render } from 'svelte/server';

vi.mock('./api', async (importOriginal) => (await import('./testApiMock')).mockApiModule(await importOriginal()));

import PaymentRow from './components/PaymentRow.svelte';
import { dictionaries } from './i18n';
import { reportDictionaries } from './reportsI18n';
import { paidFixture } from './testFixtures';

describe('one state, one name', () => {
  it('a partly refunded payment says so, with what went back, and is not the green "paid"', () => {
    const p = paidFixture({ status: 'partly_refunded', statusText: '部分退款', refundedText: '2.34' });
    const { body } = render(PaymentRow, { props: { p } });
    expect(body).toContain('部分退款');
    expect(body).toContain('已退 ¥2.34');
    expect(body).toContain('s-partly_refunded');
    expect(body).not.toContain('s-paid');
  });

  it('a fully refunded payment is 已退款', () => {
    const { body } = render(PaymentRow, { props: { p: paidFixture({ status: 'refunded', statusText: '已退款' }) } });
    expect(body).toContain('已退款');
    expect(body).toContain('s-refunded');
  });

  it('the UI has no names of its own for states or phases', () => {
    for (const dict of [dictionaries.zh, dictionaries.en, reportDictionaries.zh, reportDictionaries.en]) {
      expect(Object.keys(dict).filter((k) => /^(state|phase|pstate|rstate)_/.test(k))).toEqual([]);
    }
  });
});
