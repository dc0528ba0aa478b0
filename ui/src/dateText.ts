// Dates as the screens take them: YYYY-MM-DD in every language (the machine's locale would show
// 12/03/2026 in a Chinese screen). Whether a text is a real date: `isDateString` (reports.ts).

/** What the clerk typed, tidied: full-width digits and separators (２０２６／１２／０３) become
 * ASCII, "/" and "." become "-". */
export function tidyDateText(text: string): string {
  return text
    .trim()
    .replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xff10 + 48))
    .replace(/[／/．.－]/g, '-');
}
