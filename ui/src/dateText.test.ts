import { describe, expect, it } from 'vitest';
import { tidyDateText } from './dateText';

describe('dates as YYYY-MM-DD in every language', () => {
  it('tidies what a Chinese keyboard types', () => {
    expect(tidyDateText('２０２６／１２／０３')).toBe('2026-12-03');
    expect(tidyDateText(' 2026.12.03 ')).toBe('2026-12-03');
  });
});
