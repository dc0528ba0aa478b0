// Static texts of the UI, Chinese first. Messages from the core arrive already localized and are
// shown as they are; only the UI's own labels live here. `{name}` marks a value filled in by `t`.

import type { Lang, PaymentState, Phase, TenderMethod } from './api';

const zh = {
  appName: '收银台',
  terminal: '终端',
  channel: '收款通道',
  langToggle: 'English',
  langToggleTitle: '切换到英文界面',
  demoBadge: '演示模式',
  clockTitle: '当前时间',

  amountLabel: '收款金额',
  ceiling: '单笔上限 ¥{ceiling}',
  keyBack: '退格',
  keyClear: '清除',
  actionScan: '扫顾客付款码',
  actionScanKeys: 'Enter / F1',
  actionQr: '显示收款码',
  actionQrKeys: 'F2',
  actionPage: '打开顾客付款页',
  channelNoBarcode: '此通道不支持扫付款码',
  channelNoQr: '此通道不支持收款码',
  checkingAmount: '正在核对金额…',
  creatingQr: '正在生成收款码…',
  openingPage: '正在打开顾客付款页…',
  tenderLabel: '收款方式',
  channelKeys: 'F3',
  channelCycleTitle: '按 F3 切换收款通道',
  method: '付款方式',
  keyboardHint: '数字键输入金额 · Backspace 退格 · Delete 清除',

  scanTitle: '请扫描顾客付款码',
  scanHint: '用扫码枪扫顾客手机上的付款码。扫不上时，手动输入付款码数字，按 Enter 确认。',
  manualLabel: '手动输入付款码',
  manualPlaceholder: '付款码数字',
  submit: '确认',
  scanning: '正在读取',
  sampleCodes: '演示付款码（点击即收款）',
  back: '返回',
  sending: '正在发送，请稍候…',

  amount: '金额',
  phase_sending: '正在发送',
  phase_waiting: '等待顾客付款',
  phase_checking: '正在查询结果',
  phase_cancelling: '正在取消',
  secondsLeft: '剩余 {s} 秒',
  cancel: '取消收款',
  cancelling: '正在取消…',
  qrTitle: '请顾客用手机扫码付款',
  qrPayloadTitle: '收款码内容',
  customerWindowTitle: '请顾客在顾客屏上付款',
  customerWindowAside: '本屏幕不显示收款码',
  paid: '支付成功',
  failureTitle: '收款未成功',
  closedTitle: '订单已关闭，未收款',
  reversedTitle: '已撤销，未收款',
  notConfirmedTitle: '付款未确认',
  notConfirmedMayArrive: '顾客的钱可能仍会到账。',
  notConfirmedDoNotCharge: '请勿重复收款。',
  notConfirmedKeepsChecking: '系统会继续查询，有结果会提醒你。',
  done: '完成',
  newSaleHint: '按 Enter 开始下一笔',
  retryHint: '按 Enter 返回，可换一个付款码或改用收款码',

  todayTitle: '今日收款',
  totalsCount: '共 {n} 笔',
  totalsPaid: '已收',
  totalsNet: '净额',
  todayEmpty: '今天还没有收款',
  todayUnavailable: '暂时无法读取今日收款',
  colTime: '时间',
  colAmount: '金额',
  colWallet: '钱包',
  colCode: '付款码',
  colState: '状态',
  state_created: '待发送',
  state_pending: '等待付款',
  state_unknown: '状态未知',
  state_paid: '已支付',
  state_failed: '失败',
  state_closed: '已关闭',
  state_reversed: '已撤销',
  lateLabel: '迟到付款',
  unconfirmedLabel: '待确认',
  wallet_alipay: '支付宝',
  wallet_wechat: '微信支付',
  wallet_unionpay: '云闪付',
  wallet_ecny: '数字人民币',
  flow_qr: '收款码',
  flow_barcode: '付款码',
  flow_page: '网页付款',

  alertTitle: '请注意',
  dismiss: '知道了',
  passiveScanNotice: '扫到付款码，请先点「扫顾客付款码」',
  close: '关闭',

  starting: '正在启动收银台…',
  coreUnreachableTitle: '无法连接收银核心',
  coreUnreachableBody: '收银程序的核心没有响应，现在不能收款。请点“重试”；如果仍然不行，请重启 paydesk，或联系技术支持。',
  coreLost: '与收银核心的连接中断，这一步没有完成。请再试一次；如果仍然失败，请重启 paydesk。',
  retry: '重试',
  sandboxPage: '演示：在浏览器打开此链接付款',
};

export type MessageKey = keyof typeof zh;

const en: Record<MessageKey, string> = {
  appName: 'Cashier',
  terminal: 'Terminal',
  channel: 'Channel',
  langToggle: '中文',
  langToggleTitle: 'Switch to Chinese',
  demoBadge: 'Demo mode',
  clockTitle: 'Current time',

  amountLabel: 'Amount to collect',
  ceiling: 'Limit per payment ¥{ceiling}',
  keyBack: 'Backspace',
  keyClear: 'Clear',
  actionScan: 'Scan customer code',
  actionScanKeys: 'Enter / F1',
  actionQr: 'Show QR',
  actionQrKeys: 'F2',
  actionPage: 'Open payment page for the customer',
  channelNoBarcode: 'This channel does not take payment codes',
  channelNoQr: 'This channel cannot show a QR code',
  checkingAmount: 'Checking the amount…',
  creatingQr: 'Creating the QR code…',
  openingPage: 'Opening the payment page…',
  tenderLabel: 'Tender',
  channelKeys: 'F3',
  channelCycleTitle: 'Press F3 to switch the channel',
  method: 'Pay with',
  keyboardHint: 'Digits type the amount · Backspace deletes · Delete clears',

  scanTitle: "Scan the customer's payment code",
  scanHint: "Scan the code on the customer's phone. If it will not read, type the code's digits and press Enter.",
  manualLabel: 'Type the payment code',
  manualPlaceholder: 'Payment code digits',
  submit: 'Submit',
  scanning: 'Reading',
  sampleCodes: 'Demo payment codes (click to charge)',
  back: 'Back',
  sending: 'Sending, please wait…',

  amount: 'Amount',
  phase_sending: 'Sending',
  phase_waiting: 'Waiting for the customer',
  phase_checking: 'Checking the result',
  phase_cancelling: 'Cancelling',
  secondsLeft: '{s} s left',
  cancel: 'Cancel payment',
  cancelling: 'Cancelling…',
  qrTitle: 'Ask the customer to scan this code with their phone',
  qrPayloadTitle: 'QR content',
  customerWindowTitle: 'The customer pays on the customer screen',
  customerWindowAside: 'No QR code is shown on this screen',
  paid: 'Paid',
  failureTitle: 'Payment not completed',
  closedTitle: 'Order closed, nothing collected',
  reversedTitle: 'Reversed, nothing collected',
  notConfirmedTitle: 'Payment not confirmed',
  notConfirmedMayArrive: 'The money may still arrive.',
  notConfirmedDoNotCharge: 'Do not charge again.',
  notConfirmedKeepsChecking: 'The system keeps checking and will alert you when it knows.',
  done: 'Done',
  newSaleHint: 'Press Enter for the next sale',
  retryHint: 'Press Enter to go back; try another code or show a QR instead',

  todayTitle: "Today's payments",
  totalsCount: '{n} payments',
  totalsPaid: 'Paid',
  totalsNet: 'Net',
  todayEmpty: 'No payments yet today',
  todayUnavailable: "Today's payments cannot be read right now",
  colTime: 'Time',
  colAmount: 'Amount',
  colWallet: 'Wallet',
  colCode: 'Code',
  colState: 'Status',
  state_created: 'Not sent',
  state_pending: 'Waiting',
  state_unknown: 'Unknown',
  state_paid: 'Paid',
  state_failed: 'Failed',
  state_closed: 'Closed',
  state_reversed: 'Reversed',
  lateLabel: 'Late',
  unconfirmedLabel: 'Unconfirmed',
  wallet_alipay: 'Alipay',
  wallet_wechat: 'WeChat Pay',
  wallet_unionpay: 'UnionPay',
  wallet_ecny: 'e-CNY',
  flow_qr: 'QR',
  flow_barcode: 'Code',
  flow_page: 'Payment page',

  alertTitle: 'Attention',
  dismiss: 'Dismiss',
  passiveScanNotice: 'A payment code was scanned: press "Scan customer code" first',
  close: 'Close',

  starting: 'Starting the cashier…',
  coreUnreachableTitle: 'Cannot reach the cashier core',
  coreUnreachableBody:
    "The cashier's core is not answering, so no payment can be taken now. Press Retry; if that does not help, restart paydesk or call support.",
  coreLost: 'Lost contact with the cashier core; this step did not happen. Try again; if it keeps failing, restart paydesk.',
  retry: 'Retry',
  sandboxPage: 'Demo: open this link in a browser to pay',
};

export const dictionaries: Record<Lang, Record<MessageKey, string>> = { zh, en };

/** Looks up a text and fills in `{name}` placeholders. */
export function translate(lang: Lang, key: MessageKey, vars?: Record<string, string | number>): string {
  let s = dictionaries[lang][key] ?? dictionaries.zh[key] ?? key;
  if (vars) {
    for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
  }
  return s;
}

export function stateKey(state: PaymentState): MessageKey {
  return `state_${state}` as MessageKey;
}

/** Title of a payment still in progress, by its phase. */
export function phaseKey(phase: Phase): MessageKey {
  switch (phase) {
    case 'sending':
    case 'waiting':
    case 'checking':
    case 'cancelling':
      return `phase_${phase}`;
    default:
      return 'phase_checking';
  }
}

/**
 * The wallet's name in the UI language; an unknown wallet id is shown as it is. A QR payment's
 * `wallet` is the tender the clerk picked (a method code such as `WECHAT`): it is named as the
 * channel's `methods` name it (already in the UI language), else as a known wallet.
 */
export function walletName(lang: Lang, wallet: string | null, methods?: readonly TenderMethod[]): string | null {
  if (wallet === null) return null;
  const method = methods?.find((m) => m.code === wallet);
  if (method) return method.name;
  const key = `wallet_${wallet.toLowerCase()}`;
  return key in dictionaries[lang] ? dictionaries[lang][key as MessageKey] : wallet;
}
