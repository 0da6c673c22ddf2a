import { describe, expect, it } from 'vitest';
import { parseCommandLine, typeOverrides } from '../../../main/cli/vault.js';

describe('vault CLI --type', () => {
  const names = ['model', 'mpg', 'zip'];

  it('sets the type of each named column and leaves the others to the guess', () => {
    expect(typeOverrides(parseCommandLine(['import', 'v', 'f.csv', '--type', 'mpg=number', '--type', 'zip=string']).values.type ?? [], names)).toEqual([{}, { type: 'number' }, { type: 'string' }]);
    expect(typeOverrides(parseCommandLine(['import', 'v', 'f.csv']).values.type ?? [], names)).toBeUndefined();
  });

  it('refuses an unknown column, an unknown type, and a malformed option, in words', () => {
    expect(() => typeOverrides(['weight=number'], names)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/no column "weight".*model, mpg, zip/) }));
    expect(() => typeOverrides(['mpg=float'], names)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/"float" is not a column type/) }));
    expect(() => typeOverrides(['mpg'], names)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/column=type/) }));
  });

  it('reads options as the other command lines do: unknown ones and bad numbers are refused in words', () => {
    expect(parseCommandLine(['show', 'v.vault', 'diary', '--limit', '5', '--skip-bad-rows']).values).toMatchObject({ limit: '5', 'skip-bad-rows': true });
    expect(() => parseCommandLine(['import', 'v.vault', 'f.csv', '--skip-bad-row'])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/Unknown option '--skip-bad-row'[\s\S]*usage: npm run vault/) }));
  });
});

