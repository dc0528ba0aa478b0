import { describe, expect, it } from 'vitest';
import { isDateText, tidyDateText } from './dateText';

describe('dates as YYYY-MM-DD in every language', () => {
  it('takes only real calendar dates', () => {
    expect(isDateText('2026-12-03')).toBe(true);
    expect(isDateText('2028-02-29')).toBe(true);
    expect(isDateText('2026-02-29')).toBe(false);
    expect(isDateText('2000-02-29')).toBe(true);
    expect(isDateText('2100-02-29')).toBe(false);
    expect(isDateText('2026-04-31')).toBe(false);
    expect(isDateText('2026-13-01')).toBe(false);
    expect(isDateText('12/03/2026')).toBe(false);
    expect(isDateText('2026-1-3')).toBe(false);
  });

  it('tidies what a Chinese keyboard types', () => {
    expect(tidyDateText('２０２６／１２／０３')).toBe('2026-12-03');
    expect(tidyDateText(' 2026.12.03 ')).toBe('2026-12-03');
  });
});
