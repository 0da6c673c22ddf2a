import { describe, expect, it } from 'vitest';
import { toCsv } from '../../common/csv-writer.js';

describe('CSV for exports', () => {
  it('quotes commas, quotes and line breaks, and ends every row with CRLF', () => {
    expect(toCsv([['a', 'b'], ['x,y', 'say "hi"'], ['two\nlines', 3], [null, true]])).toBe('a,b\r\n"x,y","say ""hi"""\r\n"two\nlines",3\r\n,true\r\n');
  });

  it('keeps text that starts like a formula from running in a spreadsheet, numbers stay numbers', () => {
    expect(toCsv([['=HYPERLINK("http://x")', '+1', '-2', '@SUM(A1)', -2]])).toBe(`"'=HYPERLINK(""http://x"")",'+1,'-2,'@SUM(A1),-2\r\n`);
  });
});
