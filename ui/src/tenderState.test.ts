// The tender bar's state (channel and method choice, hidden actions, the method sent to start_qr)
// and how the screens render it. Runs against the real AppState with the core's commands mocked;
// components are rendered with Svelte's server renderer (no DOM needed).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render } from 'svelte/server';
import type { Bootstrap, Channel, PaymentView } from './api';

vi.mock('./api', async (importOriginal) => (await import('./testApiMock')).mockApiModule(await importOriginal()));

import { AppState, app } from './state.svelte';
import AmountEntry from './components/AmountEntry.svelte';
import PaymentOverlay from './components/PaymentOverlay.svelte';
import TodayList from './components/TodayList.svelte';
import { abcChannel, bootFixture, lakalaChannel, memoryStore, paymentFixture, paysvcChannel, stubBrowser, todayFixture } from './testFixtures';
import { apiMock as mocks, resetApiMock } from './testApiMock';

const abc = abcChannel;
const lakala = lakalaChannel;
const cashdesk: Channel = { id: 'cashdesk', name: '收银台', barcode: false, qr: true, canCancel: true, methods: [], display: 'qr' };
const paysvc = paysvcChannel;
const scanOnly: Channel = { id: 'scanonly', name: '只扫码', barcode: true, qr: false, canCancel: true, methods: [], display: 'qr' };

function boot(channels: Channel[], p: Partial<Bootstrap> = {}): Bootstrap {
  return bootFixture({ channels, defaultChannel: channels[0]?.id ?? '', ...p });
}

/** A QR payment through lakala, waiting for the customer's WeChat. */
function view(p: Partial<PaymentView> = {}): PaymentView {
  return paymentFixture({
    channel: 'lakala',
    flow: 'qr',
    phase: 'waiting',
    phaseText: '等待顾客付款',
    wallet: 'WECHAT',
    codeMasked: null,
    qrSvg: '<svg data-qr="1"></svg>',
    qrPayload: 'https://qr.example/abc',
    deadlineAtMs: Date.now() + 60_000,
    message: '请顾客用微信扫描二维码付款',
    customerMessage: '请顾客用微信扫描二维码付款',
    ...p,
  });
}

function keydown(key: string, target: { tagName: string } | null = null) {
  return {
    key,
    code: key,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    isComposing: false,
    defaultPrevented: false,
    target,
    preventDefault: vi.fn(),
  } as unknown as KeyboardEvent & { preventDefault: ReturnType<typeof vi.fn> };
}

/** A state that has booted against the mocked core. */
async function ready(b: Bootstrap, state: AppState = new AppState()): Promise<AppState> {
  mocks.bootstrap.mockResolvedValueOnce(b);
  await state.start();
  expect(state.status).toBe('ready');
  return state;
}

let store: ReturnType<typeof memoryStore>;

beforeEach(() => {
  store = memoryStore();
  stubBrowser(store);
  vi.stubGlobal('Audio', undefined);
  resetApiMock();
  mocks.today.mockResolvedValue(todayFixture());
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('channel and method choice', () => {
  it('starts on the default channel and the first method of a channel', async () => {
    const s = await ready(boot([abc, lakala], { defaultChannel: 'lakala' }));
    expect(s.channel?.id).toBe('lakala');
    expect(s.method?.code).toBe('ALIPAY');
    expect(s.tenderBar).toBe(true);
    expect(s.methodPicker).toBe(true);
  });

  it('switches channel and keeps the method picked per channel for the session', async () => {
    const s = await ready(boot([abc, lakala]));
    expect(s.channel?.id).toBe('abc');
    expect(s.method).toBeNull();
    expect(s.methodPicker).toBe(false);

    s.setChannel('lakala');
    s.selectMethod('WECHAT');
    expect(s.method?.code).toBe('WECHAT');
    s.setChannel('abc');
    expect(s.method).toBeNull();
    s.setChannel('lakala');
    expect(s.method?.code).toBe('WECHAT');

    // a reload of the webview (new state, same session) comes back to the same choice
    const again = await ready(boot([abc, lakala]));
    expect(again.channel?.id).toBe('lakala');
    expect(again.method?.code).toBe('WECHAT');
  });

  it('ignores unknown channels and methods, and falls back when the core drops a remembered one', async () => {
    const s = await ready(boot([abc, lakala]));
    s.setChannel('nope');
    expect(s.channel?.id).toBe('abc');
    s.setChannel('lakala');
    s.selectMethod('ECNY');
    expect(s.method?.code).toBe('ALIPAY');

    store.data.set('paydesk.tender', JSON.stringify({ channel: 'gone', methods: { lakala: 'GONE' } }));
    const later = await ready(boot([abc, lakala], { defaultChannel: 'lakala' }));
    expect(later.channel?.id).toBe('lakala');
    expect(later.method?.code).toBe('ALIPAY');
  });

  it('does not change the tender while a payment is on screen or a check is running', async () => {
    const s = await ready(boot([abc, lakala]));
    s.active = view({ channel: 'abc' });
    s.setChannel('lakala');
    expect(s.channel?.id).toBe('abc');
    s.active = null;
    s.setChannel('lakala');
    s.busy = 'check';
    s.selectMethod('WECHAT');
    expect(s.method?.code).toBe('ALIPAY');
  });

  it('shows the tender bar only with a choice to make', async () => {
    expect((await ready(boot([abc]))).tenderBar).toBe(false);
    expect((await ready(boot([paysvc]))).tenderBar).toBe(false);
    expect((await ready(boot([lakala]))).tenderBar).toBe(true);
    expect((await ready(boot([abc, paysvc]))).tenderBar).toBe(true);
  });
});

describe('F3 and the other keys', () => {
  it('F3 cycles the channels and wraps round', async () => {
    const s = await ready(boot([abc, lakala, paysvc]));
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const e = keydown('F3');
      s.onKeydown(e);
      expect(e.preventDefault).toHaveBeenCalled();
      seen.push(s.channelId);
    }
    expect(seen).toEqual(['lakala', 'paysvc', 'abc', 'lakala']);
  });

  it('F4 switches the QR wallet on a channel that offers several (支付宝 → 微信 → …), wrapping round', async () => {
    const s = await ready(boot([lakala]));
    const codes = lakala.methods.map((m) => m.code);
    expect(codes.length).toBeGreaterThan(1);
    const seen: string[] = [];
    for (let i = 0; i < codes.length; i++) {
      s.onKeydown(keydown('F4'));
      seen.push(s.method?.code ?? '');
    }
    expect(seen).toEqual([...codes.slice(1), codes[0]]);
  });

  it('F3 does nothing with a single channel or while the scan overlay is open', async () => {
    const one = await ready(boot([lakala]));
    one.onKeydown(keydown('F3'));
    expect(one.channelId).toBe('lakala');

    const s = await ready(boot([abc, lakala]));
    s.amount = '12.34';
    await s.openScan();
    expect(s.scan).not.toBeNull();
    s.onKeydown(keydown('F3'));
    expect(s.channelId).toBe('abc');
  });

  it('Enter / F1 on a channel without payment codes opens no scan and says why', async () => {
    const s = await ready(boot([paysvc, abc]));
    s.amount = '12.34';
    s.onKeydown(keydown('Enter'));
    s.onKeydown(keydown('F1'));
    await Promise.resolve();
    expect(s.scan).toBeNull();
    expect(mocks.checkAmount).not.toHaveBeenCalled();
    expect(s.notice).toBe('此通道不支持扫付款码');
  });

  it('F2 on a channel without QR starts nothing and says why', async () => {
    const s = await ready(boot([scanOnly]));
    s.amount = '12.34';
    s.onKeydown(keydown('F2'));
    await Promise.resolve();
    expect(mocks.startQr).not.toHaveBeenCalled();
    expect(s.notice).toBe('此通道不支持收款码');
  });
});

describe('start_qr gets the chosen method', () => {
  it('sends the picked method', async () => {
    const s = await ready(boot([abc, lakala]));
    s.setChannel('lakala');
    s.selectMethod('UQRCODEPAY');
    s.amount = '12.34';
    mocks.startQr.mockResolvedValueOnce(view({ wallet: 'UQRCODEPAY' }));
    await s.startQr();
    expect(mocks.startQr).toHaveBeenCalledWith('lakala', '12.34', 'UQRCODEPAY');
    expect(s.active?.id).toBe('T0012511221403250001');
  });

  it('sends the first method by default and null for a channel without methods', async () => {
    const s = await ready(boot([lakala, paysvc]));
    s.amount = '8';
    mocks.startQr.mockResolvedValueOnce(view({ final: true, state: 'failed', phase: 'done' }));
    await s.startQr();
    expect(mocks.startQr).toHaveBeenLastCalledWith('lakala', '8', 'ALIPAY');
    s.finishPayment();

    s.setChannel('paysvc');
    mocks.startQr.mockResolvedValueOnce(view({ channel: 'paysvc', display: 'customer_window', qrSvg: null }));
    await s.startQr();
    expect(mocks.startQr).toHaveBeenLastCalledWith('paysvc', '8', null);
  });

  it('keeps the method picked after a language switch (the core re-names the methods)', async () => {
    const s = await ready(boot([lakala]));
    s.selectMethod('WECHAT');
    const en: Channel = { ...lakala, name: 'Lakala', methods: lakala.methods.map((m) => ({ ...m, name: m.code })) };
    mocks.setLanguage.mockResolvedValueOnce(boot([en], { lang: 'en' }));
    await s.toggleLanguage();
    expect(s.lang).toBe('en');
    expect(s.method).toEqual({ code: 'WECHAT', name: 'WECHAT' });
  });
});

describe('rendering', () => {
  async function readyApp(b: Bootstrap) {
    app.active = null;
    app.scan = null;
    app.busy = null;
    app.channelId = '';
    app.methodCodes = {};
    await ready(b, app);
  }

  it('renders one pressed button per channel and the method picker of the selected one', async () => {
    await readyApp(boot([abc, lakala, paysvc], { defaultChannel: 'lakala' }));
    app.selectMethod('WECHAT');
    const html = render(AmountEntry).body;
    expect(html).toContain('data-testid="tender-bar"');
    expect(html).toMatch(/data-testid="channel-lakala"[^>]*aria-pressed="true"/);
    expect(html).toMatch(/data-testid="channel-abc"[^>]*aria-pressed="false"/);
    expect(html).toMatch(/data-testid="channel-paysvc"[^>]*aria-pressed="false"/);
    expect(html).toMatch(/data-testid="method-WECHAT"[^>]*aria-pressed="true"/);
    expect(html).toMatch(/data-testid="method-ALIPAY"[^>]*aria-pressed="false"/);
    expect(html).toContain('data-testid="method-UQRCODEPAY"');
    expect(html).toContain('data-testid="action-scan"');
    expect(html).toContain('data-testid="action-qr"');
  });

  it('hides the actions a channel cannot do and the picker of a channel without methods', async () => {
    await readyApp(boot([abc, cashdesk, scanOnly]));
    app.setChannel('cashdesk');
    let html = render(AmountEntry).body;
    expect(html).not.toContain('data-testid="action-scan"');
    expect(html).toContain('data-testid="action-qr"');
    expect(html).not.toContain('data-testid="method-picker"');

    app.setChannel('scanonly');
    html = render(AmountEntry).body;
    expect(html).toContain('data-testid="action-scan"');
    expect(html).not.toContain('data-testid="action-qr"');
  });

  it('shows no tender bar for a single channel without methods', async () => {
    await readyApp(boot([abc]));
    const html = render(AmountEntry).body;
    expect(html).not.toContain('data-testid="tender-bar"');
    expect(html).not.toContain('data-testid="channel-abc"');
  });

  it('labels the QR action for a channel that opens the customer window', async () => {
    await readyApp(boot([paysvc]));
    const html = render(AmountEntry).body;
    expect(html).toContain('打开顾客付款页');
    expect(html).toContain('data-display="customer_window"');
    expect(html).not.toContain('data-testid="action-scan"');
  });

  it('shows the customer-window note, never the QR or its payload, with amount, countdown and Cancel', async () => {
    await readyApp(boot([paysvc], { demo: { sampleCodes: [], sandboxUrl: 'http://sandbox.local' } }));
    const payload = '{"action":"https://gateway.example/pay","fields":{"sign":"secret"}}';
    app.active = view({
      channel: 'paysvc',
      wallet: null,
      display: 'customer_window',
      qrSvg: null,
      qrPayload: payload,
      message: '支付页面已在顾客屏上打开，请顾客按页面提示付款',
    });
    const html = render(PaymentOverlay).body;
    const note = html.slice(html.indexOf('data-testid="customer-window-note"'));
    expect(html).toContain('data-testid="customer-window-note"');
    expect(note).toContain('支付页面已在顾客屏上打开，请顾客按页面提示付款');
    expect(note).toContain('¥ 12.34');
    expect(note).toContain('data-testid="countdown"');
    expect(note).toContain('data-testid="cancel"');
    expect(html).not.toContain('data-testid="qr-image"');
    expect(html).not.toContain('gateway.example');
    expect(html).not.toContain('data-testid="demo-pay-link"');
  });

  it('still shows the QR for a qr-display payment', async () => {
    await readyApp(boot([lakala]));
    app.active = view();
    const html = render(PaymentOverlay).body;
    expect(html).toContain('data-testid="qr-image"');
    expect(html).not.toContain('data-testid="customer-window-note"');
    app.active = view({ phase: 'sending', qrSvg: null, deadlineAtMs: null });
    expect(render(PaymentOverlay).body).not.toContain('customer-window-note');
  });

  it('names a QR payment by the method picked in the today list', async () => {
    await readyApp(boot([lakala, paysvc]));
    app.today = {
      ...todayFixture(),
      payments: [
        view({ id: 'A1', wallet: 'UQRCODEPAY', final: true, state: 'paid', phase: 'done' }),
        view({ id: 'A2', channel: 'paysvc', wallet: null, display: 'customer_window', final: true, state: 'paid', phase: 'done' }),
      ],
    };
    const html = render(TodayList).body;
    expect(html).toContain('银联二维码');
    expect(html).toContain('网页付款');
  });
});
