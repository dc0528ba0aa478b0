// The printer in the window: the settings form to and from `[printer]`, the queue's failed slips,
// the preview and its Print, and the Printer tab's save (with a manager's approval).
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Approval, WithApproval } from './api';
import type { PrinterConfig, PrintJobView, SlipPreview } from './printApi';

const printApi = vi.hoisted(() => ({
  jobs: vi.fn(),
  preview: vi.fn(),
  printSlip: vi.fn(),
  printReceipt: vi.fn(),
  retry: vi.fn(),
  dismiss: vi.fn(),
  openDrawer: vi.fn(),
  settings: vi.fn(),
  saveSettings: vi.fn(),
  check: vi.fn(),
}));
vi.mock('./printApi', async (importOriginal) => ({ ...(await importOriginal<typeof import('./printApi')>()), printApi }));

import { addressOf, formChanged, formFromPrinter, printerFromForm } from './printerForm';
import { PrinterSettings, PrintQueue } from './printing.svelte';

const approval: Approval = { userId: 1, pin: '123456' };

function deps(answer: 'approve' | 'cancel' = 'approve') {
  const withApproval = vi.fn(async (_action: string, call: (a: Approval) => Promise<unknown>) =>
    answer === 'approve' ? call(approval) : null,
  );
  return {
    withApproval: withApproval as unknown as WithApproval,
    approvalSpy: withApproval,
    t: (k: string) => k,
    errorText: (e: unknown) => (e as { message: string }).message,
    showNotice: vi.fn(),
  };
}

const saved: PrinterConfig = {
  address: 'tcp://192.168.1.80:9100',
  baud: 9600,
  paper_mm: 58,
  auto_print: true,
  status: true,
  timeout_ms: 3000,
  header: '老王便利店',
  footer: '谢谢惠顾',
  drawer: { pin: 2, on_ms: 100, off_ms: 500, on_refund: true },
};

function job(over: Partial<PrintJobView>): PrintJobView {
  return {
    id: 1,
    kind: 'receipt',
    kindText: '收款小票',
    target: 'P1',
    state: 'pending',
    stateText: '等待打印',
    error: null,
    errorText: null,
    attempts: 0,
    timeText: '10:00:00',
    ...over,
  };
}

beforeEach(() => {
  for (const f of Object.values(printApi)) f.mockReset();
});

describe('the printer settings form', () => {
  it('reads a saved network printer back into the form and writes the same settings', () => {
    const form = formFromPrinter(saved);
    expect(form.connection).toBe('tcp');
    expect(form.host).toBe('192.168.1.80'); // the raw port is implied
    expect(form.paperMm).toBe(58);
    expect(form.drawer).toBe(true);
    expect(printerFromForm(form)).toEqual({ ok: true, printer: saved });
    expect(formChanged(form, saved)).toBe(false);
    form.footer = '欢迎再来';
    expect(formChanged(form, saved)).toBe(true);
  });

  it('makes the address the core reads for each connection', () => {
    const form = formFromPrinter(null);
    form.connection = 'tcp';
    form.host = '10.0.0.7';
    expect(addressOf(form)).toBe('tcp://10.0.0.7:9100');
    form.host = '10.0.0.7:9101';
    expect(addressOf(form)).toBe('tcp://10.0.0.7:9101');
    form.host = '[fe80::1]';
    expect(addressOf(form)).toBe('tcp://[fe80::1]:9100');
    form.connection = 'serial';
    form.port = ' /dev/ttyUSB0 ';
    expect(addressOf(form)).toBe('serial:/dev/ttyUSB0');
    expect(formFromPrinter({ ...saved, address: 'serial:/dev/ttyS1' }).port).toBe('/dev/ttyS1');
    form.connection = 'usb';
    form.device = '/dev/usb/lp0';
    expect(addressOf(form)).toBe('/dev/usb/lp0');
    expect(formFromPrinter({ ...saved, address: '/dev/usb/lp1' }).connection).toBe('usb');
  });

  it('offers the first USB printer found when none is set up, and "no printer" removes the section', () => {
    const form = formFromPrinter(null, ['/dev/usb/lp0']);
    expect(form.connection).toBe('none');
    expect(form.device).toBe('/dev/usb/lp0');
    expect(printerFromForm(form)).toEqual({ ok: true, printer: null });
  });

  it('names the field it cannot read and saves nothing else', () => {
    const form = formFromPrinter(saved);
    form.drawerOnMs = '1.5';
    expect(printerFromForm(form)).toEqual({ ok: false, field: 'drawerOnMs' });
    form.drawerOnMs = '100';
    form.timeoutMs = '三秒';
    expect(printerFromForm(form)).toEqual({ ok: false, field: 'timeoutMs' });
    form.timeoutMs = '3000';
    form.host = '  ';
    expect(printerFromForm(form)).toEqual({ ok: false, field: 'address' });
    form.connection = 'usb';
    form.device = '';
    expect(printerFromForm(form)).toEqual({ ok: false, field: 'address' });
  });

  it('leaves the drawer out when none is plugged in', () => {
    const form = formFromPrinter(saved);
    form.drawer = false;
    const r = printerFromForm(form);
    expect(r.ok && r.printer?.drawer).toBeNull();
  });
});

describe('the print queue', () => {
  it('lists the failed slips and retries one, then reads the queue again', async () => {
    const d = deps();
    const q = new PrintQueue(d);
    q.take([job({ id: 1 }), job({ id: 2, state: 'failed', error: 'paper_out', errorText: '打印机缺纸' })]);
    expect(q.failed.map((j) => j.id)).toEqual([2]);
    printApi.retry.mockResolvedValue(true);
    printApi.jobs.mockResolvedValue([job({ id: 2, state: 'pending' })]);
    await q.retry(2);
    expect(printApi.retry).toHaveBeenCalledWith(2);
    expect(q.failed).toEqual([]);
    expect(q.acting).toBeNull();
  });

  it('says why a dismiss failed and keeps the slip listed', async () => {
    const d = deps();
    const q = new PrintQueue(d);
    q.take([job({ id: 3, state: 'failed' })]);
    printApi.dismiss.mockRejectedValue({ code: 'ledger', message: '账本写入失败' });
    await q.dismiss(3);
    expect(d.showNotice).toHaveBeenCalledWith('账本写入失败');
    expect(q.failed).toHaveLength(1);
  });

  it('prints a receipt through print_receipt and every other slip through print_slip', async () => {
    const d = deps();
    const q = new PrintQueue(d);
    printApi.printReceipt.mockResolvedValue(7);
    printApi.printSlip.mockResolvedValue(8);
    expect(await q.print('receipt', 'P1')).toBe(true);
    expect(await q.print('z', '4')).toBe(true);
    expect(printApi.printReceipt).toHaveBeenCalledWith('P1');
    expect(printApi.printSlip).toHaveBeenCalledWith('z', '4');
    expect(d.showNotice).toHaveBeenLastCalledWith('printQueued');
    printApi.printSlip.mockRejectedValue({ code: 'not_set_up', message: '未设置打印机' });
    expect(await q.print('test', null)).toBe(false);
    expect(d.showNotice).toHaveBeenLastCalledWith('未设置打印机');
  });

  it('shows a preview, prints it, and closes once queued', async () => {
    const d = deps();
    const q = new PrintQueue(d);
    const p: SlipPreview = { columns: 32, paperMm: 58, printed: [{ kind: 'cut' }], unknown: [], qrSvgs: [], bytes: 12 };
    printApi.preview.mockResolvedValue(p);
    await q.openPreview('refund', 'R1');
    expect(printApi.preview).toHaveBeenCalledWith('refund', 'R1');
    expect(q.preview?.preview?.columns).toBe(32);
    expect(q.preview?.busy).toBeNull();
    printApi.printSlip.mockResolvedValue(9);
    await q.printPreview();
    expect(printApi.printSlip).toHaveBeenCalledWith('refund', 'R1');
    expect(q.preview).toBeNull();
  });

  it('keeps the preview open with the reason when the slip cannot be made', async () => {
    const q = new PrintQueue(deps());
    printApi.preview.mockRejectedValue({ code: 'slip', message: '只有已收款的订单才有小票' });
    await q.openPreview('receipt', 'P2');
    expect(q.preview?.error).toBe('只有已收款的订单才有小票');
    expect(q.preview?.preview).toBeNull();
  });
});

describe('the Printer tab', () => {
  it('saves with a manager approval and takes the saved settings as the new form', async () => {
    const d = deps();
    const q = new PrintQueue(d);
    const s = new PrinterSettings(d, q);
    printApi.settings.mockResolvedValue({ printer: null, ports: [], usb: [] });
    await s.load();
    expect(s.dirty).toBe(false);
    s.form!.connection = 'tcp';
    s.form!.host = '192.168.1.80';
    expect(s.dirty).toBe(true);
    printApi.saveSettings.mockImplementation(async (_a: Approval, p: PrinterConfig | null) => ({ printer: p, ports: [], usb: [] }));
    await s.save();
    expect(d.approvalSpy).toHaveBeenCalledWith('settings', expect.any(Function));
    const sent = printApi.saveSettings.mock.calls[0][1] as PrinterConfig;
    expect(sent.address).toBe('tcp://192.168.1.80:9100');
    expect(s.saved).toBe(true);
    expect(s.dirty).toBe(false);
    expect(q.printer).toBe(true);
  });

  it('sends nothing when a number cannot be read, or the PIN prompt is cancelled', async () => {
    const d = deps('cancel');
    const s = new PrinterSettings(d, new PrintQueue(d));
    printApi.settings.mockResolvedValue({ printer: saved, ports: [], usb: [] });
    await s.load();
    s.form!.timeoutMs = '3s';
    await s.save();
    expect(s.invalid).toBe('timeoutMs');
    expect(s.error).toBe('printerNotWhole');
    expect(d.approvalSpy).not.toHaveBeenCalled();
    s.form!.timeoutMs = '4000';
    await s.save();
    expect(d.approvalSpy).toHaveBeenCalledTimes(1);
    expect(printApi.saveSettings).not.toHaveBeenCalled();
    expect(s.saved).toBe(false);
    expect(s.busy).toBeNull();
  });

  it('shows the core\'s refusal of a setting and keeps the form as typed', async () => {
    const d = deps();
    const s = new PrinterSettings(d, new PrintQueue(d));
    printApi.settings.mockResolvedValue({ printer: saved, ports: [], usb: [] });
    await s.load();
    s.form!.drawerOffMs = '200';
    printApi.saveSettings.mockRejectedValue({ code: 'config', message: 'printer.drawer.off_ms：至少为 on_ms 的 4 倍' });
    await s.save();
    expect(s.error).toContain('4 倍');
    expect(s.form!.drawerOffMs).toBe('200');
    expect(s.dirty).toBe(true);
  });

  it('checks the printer and opens the drawer with an approval', async () => {
    const d = deps();
    const s = new PrinterSettings(d, new PrintQueue(d));
    printApi.check.mockResolvedValue({ ready: false, text: '打印机缺纸' });
    await s.runCheck();
    expect(s.check).toEqual({ ready: false, text: '打印机缺纸' });
    printApi.openDrawer.mockResolvedValue(5);
    await s.openDrawer();
    expect(d.approvalSpy).toHaveBeenCalledWith('open_drawer', expect.any(Function));
    expect(printApi.openDrawer).toHaveBeenCalledWith(approval);
    expect(d.showNotice).toHaveBeenCalledWith('drawerOpening');
  });
});

describe('many failed slips', () => {
  it('shows the two newest at the counter and retries them all at once', async () => {
    const d = deps();
    const q = new PrintQueue(d);
    q.take([1, 2, 3, 4].map((id) => job({ id, state: 'failed' })));
    expect(q.shownFailed.map((j) => j.id)).toEqual([4, 3]);
    printApi.retry.mockResolvedValue(true);
    printApi.jobs.mockResolvedValue([]);
    await q.retryAll();
    expect(printApi.retry.mock.calls.map((c) => c[0])).toEqual([1, 2, 3, 4]);
    expect(q.failed).toEqual([]);
  });
});
