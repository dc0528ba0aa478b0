// The kiosk's own texts (docs/ui-contract.md, "Kiosk mode"), Chinese and English. The kiosk shows
// each of them in the current language with the other language as a smaller second line; texts
// from the core (welcome, product names, messages) come in the current language only.

import type { Lang } from './api';
import { fillVars } from './i18n';

const zh = {
  welcome: '欢迎光临',
  langName: '中文',
  menuTitle: '请选择商品',
  tapToAdd: '轻触商品加入',
  add: '加一份',
  remove: '减一份',
  total: '合计',
  quoting: '正在计算…',
  pay: '去付款',
  waitingOrder: '等待订单中',
  waitingOrderHint: '订单到达后会在这里付款',
  amount: '应付金额',
  chooseTitle: '请选择支付方式',
  tenderQr: '扫码支付',
  tenderQrHint: '用手机扫描屏幕上的二维码',
  tenderCode: '出示付款码',
  tenderCodeHint: '打开支付宝或微信的付款码',
  noTender: '暂时无法付款，请联系店员',
  sending: '请稍候',
  qrTitle: '请扫码支付',
  qrHint: '打开手机支付应用，扫一扫',
  qrHintWith: '请用下面的应用扫一扫：',
  codeTitle: '请出示付款码',
  codeHint: '将手机付款码对准扫描窗口',
  reading: '正在读取…',
  confirmTitle: '请在手机上确认付款',
  confirmHint: '在支付应用中确认后即可完成',
  checkingTitle: '正在确认支付结果',
  checkingHelp: '请稍候，如需帮助请联系店员',
  cancellingTitle: '正在取消',
  secondsLeft: '剩余 {n} 秒',
  otherTender: '换一种方式',
  cancel: '取消',
  paidTitle: '支付成功',
  thanks: '谢谢惠顾',
  backIn: '{n} 秒后返回首页',
  done: '完成',
  failedTitle: '支付未成功',
  retry: '再试一次',
  stillThere: '还在吗？',
  stillThereHint: '轻触屏幕继续',
  resetIn: '{n} 秒后返回首页',
  lostContact: '暂时无法连接，请联系店员',
  exit: '退出自助模式',
} as const;

export type KioskKey = keyof typeof zh;

const en: Record<KioskKey, string> = {
  welcome: 'Welcome',
  langName: 'English',
  menuTitle: 'Choose your items',
  tapToAdd: 'Tap an item to add it',
  add: 'Add one',
  remove: 'Remove one',
  total: 'Total',
  quoting: 'Calculating…',
  pay: 'Pay',
  waitingOrder: 'Waiting for an order',
  waitingOrderHint: 'Your order will appear here to pay',
  amount: 'Amount to pay',
  chooseTitle: 'Choose how to pay',
  tenderQr: 'Scan to pay',
  tenderQrHint: 'Scan the QR code on this screen with your phone',
  tenderCode: 'Show payment code',
  tenderCodeHint: 'Open the payment code in Alipay or WeChat',
  noTender: 'Payment is not available here, please ask staff',
  sending: 'Please wait',
  qrTitle: 'Scan to pay',
  qrHint: 'Open your payment app and scan',
  qrHintWith: 'Scan with this app:',
  codeTitle: 'Show your payment code',
  codeHint: 'Hold the code up to the scanner window',
  reading: 'Reading…',
  confirmTitle: 'Confirm the payment in your wallet',
  confirmHint: 'It completes once you confirm in the app',
  checkingTitle: 'Checking the payment',
  checkingHelp: 'Please wait, or ask staff for help',
  cancellingTitle: 'Cancelling',
  secondsLeft: '{n} s left',
  otherTender: 'Pay another way',
  cancel: 'Cancel',
  paidTitle: 'Payment successful',
  thanks: 'Thank you',
  backIn: 'Back to start in {n} s',
  done: 'Done',
  failedTitle: 'Payment not completed',
  retry: 'Try again',
  stillThere: 'Still there?',
  stillThereHint: 'Touch the screen to continue',
  resetIn: 'Back to start in {n} s',
  lostContact: 'Cannot reach the till, please ask staff',
  exit: 'Leave kiosk mode',
};

export const kioskDictionaries: Record<Lang, Record<KioskKey, string>> = { zh, en };

/** A kiosk text in `lang`, with `{name}` placeholders filled in. */
export function kt(lang: Lang, key: KioskKey, vars?: Record<string, string | number>): string {
  return fillVars(kioskDictionaries[lang][key] ?? zh[key], vars);
}

/** The other language: the kiosk's second line. */
export function otherLang(lang: Lang): Lang {
  return lang === 'zh' ? 'en' : 'zh';
}

/** A text in the current language (`main`) and in the other one (`sub`). */
export interface BiText {
  main: string;
  sub: string;
  mainLang: Lang;
  subLang: Lang;
}

export function bi(lang: Lang, key: KioskKey, vars?: Record<string, string | number>): BiText {
  const o = otherLang(lang);
  return { main: kt(lang, key, vars), sub: kt(o, key, vars), mainLang: lang, subLang: o };
}

/** The `lang` attribute of an element in `lang`. */
export function htmlLang(lang: Lang): string {
  return lang === 'zh' ? 'zh-CN' : 'en';
}
