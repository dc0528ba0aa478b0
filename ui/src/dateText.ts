// Dates as the screens show and take them: YYYY-MM-DD in every language (the machine's locale
// would show 12/03/2026 in a Chinese screen). Text only: no date arithmetic here.

/** Whether a two-digit string is a multiple of 4 (by its digits: no number conversion here). */
function multipleOf4(two: string): boolean {
  const even = '02468'.includes(two[0]);
  return even ? '048'.includes(two[1]) : '26'.includes(two[1]);
}

/** Whether `text` is a real calendar date written YYYY-MM-DD (2026-02-30 is not). */
export function isDateText(text: string): boolean {
  const m = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.exec(text);
  if (!m) return false;
  const [year, month, day] = [m[1], m[2], m[3]];
  const century = year.slice(2) === '00';
  const leap = century ? multipleOf4(year.slice(0, 2)) : multipleOf4(year.slice(2));
  const last = { '02': leap ? '29' : '28', '04': '30', '06': '30', '09': '30', '11': '30' }[month] ?? '31';
  // two-digit, zero-padded: text order is number order
  return day <= last;
}

/** What the clerk typed, tidied: full-width digits and separators (２０２６／１２／０３) become
 * ASCII, "/" and "." become "-". */
export function tidyDateText(text: string): string {
  return text
    .trim()
    .replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xff10 + 48))
    .replace(/[／/．.－]/g, '-');
}
