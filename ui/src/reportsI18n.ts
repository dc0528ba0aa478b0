// Texts of the reports and shift screens, Chinese first (same style as i18n.ts). Names, amounts and
// messages from the core arrive localized and are shown as they are. `{name}` marks a value filled
// in by `rt`.

import type { Lang } from './api';
import { fillVars } from './i18n';

const zh = {
  viewDay: '日报',
  viewRange: '区间报表',
  businessDay: '营业日',
  currentDayHint: '留空为当前营业日',
  prevDay: '前一天',
  nextDay: '后一天',
  currentDay: '当前营业日',
  from: '从',
  to: '到',
  lastDays: '最近 {n} 天',
  loading: '正在读取…',
  refresh: '刷新',
  rangeInvalid: '请输入有效的日期',
  rangeOrder: '开始日期不能晚于结束日期',
  rangeTooLong: '一次最多查询 {n} 天',

  totalsTitle: '汇总',
  salesCount: '收款笔数',
  gross: '收款金额',
  refunds: '退款',
  refundsValue: '{n} 笔 · ¥{amount}',
  net: '净额',
  averageTicket: '客单价',
  started: '发起笔数',

  byChannel: '按收款通道',
  byWallet: '按钱包',
  byClerk: '按收银员',
  byTerminal: '按终端',
  colName: '名称',
  colCount: '笔数',
  colGross: '收款',
  colRefunds: '退款',
  colNet: '净额',
  noRows: '无',

  hourlyTitle: '按小时收款',
  seriesDay: '{date}',
  seriesLastWeek: '上周同日 {date}',
  countN: '{n} 笔',
  axisYuan: '元',
  compareUp: '{date} 净额 ¥{net}，比上周同日 {lastDate}（¥{lastNet}）多 ¥{diff}。',
  compareDown: '{date} 净额 ¥{net}，比上周同日 {lastDate}（¥{lastNet}）少 ¥{diff}。',
  compareSame: '{date} 净额 ¥{net}，与上周同日 {lastDate} 持平。',
  compareSoFar: '截至目前，',

  dailyTitle: '每日收款',
  seriesGross: '收款',
  seriesNet: '净额',

  unresolvedTitle: '未完成的收款',
  unresolvedNone: '没有未完成的收款',
  unresolvedOpen: '查看详情',

  exportTitle: '导出 CSV',
  exportPayments: '导出收款明细',
  exportRefunds: '导出退款明细',
  exportScopeDay: '{date}',
  exportScopeRange: '{from} 至 {to}',
  exporting: '正在导出…',
  exported: '已导出 {rows} 行：',

  shiftTitle: '当班',
  shiftNone: '当前没有开班。开班前收的款计入下一个班次。',
  shiftOpenedBy: '{name} 于 {time} 开班',
  openingCash: '备用金',
  openingCashOptional: '备用金（可不填）',
  openingCashNone: '未登记',
  openShift: '开班',
  openingShift: '正在开班…',

  xTitle: 'X 报表（当班，未结账）',
  xTitleNoShift: 'X 报表（上次交班以来）',
  zTitle: 'Z 报表 第 {n} 号',
  period: '时段',
  openedBy: '开班',
  closedBy: '交班',
  printedAt: '生成于 {time}',
  closeReasonShown: '交班说明',
  unresolvedItems: '未完成的收款和退款',
  whatPayment: '收款',
  whatRefund: '退款',

  closeShift: '交班结账（Z 报表）',
  closingShift: '正在交班…',
  closeReason: '交班说明',
  closeReasonNeeded: '有 {n} 笔收款或退款尚未完成，请写明如何处理后再交班。',
  closeReasonAsked: '请写明如何处理未完成的收款或退款后再交班。',
  closeReasonPlaceholder: '例如：已与通道核对，次日跟进',
  closedOk: '已交班，Z 报表第 {n} 号。',

  zPrint: '打印',
  printing: '正在打印…',
  printFallback: '无法直接打印，报表显示如下。',
  closePreview: '关闭',
  zListTitle: '历史 Z 报表',
  zListEmpty: '还没有 Z 报表',
  zNo: '第 {n} 号',
  zRowClosed: '{name} · {time}',
  zBack: '返回',
  zReprintNote: '重印内容与交班时相同。',


  coreLost: '与收银核心的连接中断，这一步没有完成。请再试一次。',
};

export type ReportKey = keyof typeof zh;

const en: Record<ReportKey, string> = {
  viewDay: 'Day',
  viewRange: 'Date range',
  businessDay: 'Business day',
  currentDayHint: 'Empty: the current business day',
  prevDay: 'Previous day',
  nextDay: 'Next day',
  currentDay: 'Current day',
  from: 'From',
  to: 'To',
  lastDays: 'Last {n} days',
  loading: 'Loading…',
  refresh: 'Refresh',
  rangeInvalid: 'Enter valid dates',
  rangeOrder: 'The start date is after the end date',
  rangeTooLong: 'At most {n} days at a time',

  totalsTitle: 'Totals',
  salesCount: 'Sales',
  gross: 'Gross',
  refunds: 'Refunds',
  refundsValue: '{n} · ¥{amount}',
  net: 'Net',
  averageTicket: 'Average sale',
  started: 'Payments started',

  byChannel: 'By channel',
  byWallet: 'By wallet',
  byClerk: 'By clerk',
  byTerminal: 'By terminal',
  colName: 'Name',
  colCount: 'Sales',
  colGross: 'Gross',
  colRefunds: 'Refunds',
  colNet: 'Net',
  noRows: 'None',

  hourlyTitle: 'Sales by hour',
  seriesDay: '{date}',
  seriesLastWeek: 'Same day last week {date}',
  countN: '{n} sales',
  axisYuan: 'Yuan',
  compareUp: 'Net on {date} ¥{net}: ¥{diff} more than the same weekday last week, {lastDate} (¥{lastNet}).',
  compareDown: 'Net on {date} ¥{net}: ¥{diff} less than the same weekday last week, {lastDate} (¥{lastNet}).',
  compareSame: 'Net on {date} ¥{net}: the same as the same weekday last week, {lastDate}.',
  compareSoFar: 'So far: ',

  dailyTitle: 'Sales by day',
  seriesGross: 'Gross',
  seriesNet: 'Net',

  unresolvedTitle: 'Unfinished payments',
  unresolvedNone: 'No unfinished payments',
  unresolvedOpen: 'Open details',

  exportTitle: 'Export CSV',
  exportPayments: 'Export payments',
  exportRefunds: 'Export refunds',
  exportScopeDay: '{date}',
  exportScopeRange: '{from} to {to}',
  exporting: 'Exporting…',
  exported: 'Exported {rows} rows: ',

  shiftTitle: 'Shift',
  shiftNone: 'No shift is open. Payments taken before a shift opens count in the next one.',
  shiftOpenedBy: 'Opened by {name} at {time}',
  openingCash: 'Opening cash',
  openingCashOptional: 'Opening cash (optional)',
  openingCashNone: 'not recorded',
  openShift: 'Open shift',
  openingShift: 'Opening…',

  xTitle: 'X report (open shift)',
  xTitleNoShift: 'X report (since the last close)',
  zTitle: 'Z report no. {n}',
  period: 'Period',
  openedBy: 'Opened',
  closedBy: 'Closed',
  printedAt: 'Made {time}',
  closeReasonShown: 'Reason at close',
  unresolvedItems: 'Unfinished payments and refunds',
  whatPayment: 'Payment',
  whatRefund: 'Refund',

  closeShift: 'Close shift (Z report)',
  closingShift: 'Closing…',
  closeReason: 'Reason',
  closeReasonNeeded: '{n} payments or refunds are not finished: say how they are handled before closing.',
  closeReasonAsked: 'Say how the unfinished payments or refunds are handled before closing.',
  closeReasonPlaceholder: 'e.g. checked with the channel, follow up tomorrow',
  closedOk: 'Shift closed, Z report no. {n}.',

  zPrint: 'Print',
  printing: 'Printing…',
  printFallback: 'Printing is not available here; the report is shown below.',
  closePreview: 'Close',
  zListTitle: 'Past Z reports',
  zListEmpty: 'No Z reports yet',
  zNo: 'No. {n}',
  zRowClosed: '{name} · {time}',
  zBack: 'Back',
  zReprintNote: 'A reprint shows what was printed at the close.',


  coreLost: 'Lost contact with the cashier core; this step did not happen. Try again.',
};

export const reportDictionaries: Record<Lang, Record<ReportKey, string>> = { zh, en };

/** Looks up a text of the reports screens and fills in `{name}` placeholders. */
export function rt(lang: Lang, key: ReportKey, vars?: Record<string, string | number>): string {
  return fillVars(reportDictionaries[lang]?.[key] ?? zh[key] ?? key, vars);
}
