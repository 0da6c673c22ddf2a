import { describe, expect, it } from 'vitest';
import { typeOverrides } from '../../../main/cli/vault.js';

describe('vault CLI --type', () => {
  const names = ['model', 'mpg', 'zip'];

  it('sets the type of each named column and leaves the others to the guess', () => {
    expect(typeOverrides(['import', 'v', 'f.csv', '--type', 'mpg=number', '--type', 'zip=string'], names)).toEqual([{}, { type: 'number' }, { type: 'string' }]);
    expect(typeOverrides(['import', 'v', 'f.csv'], names)).toBeUndefined();
  });

  it('refuses an unknown column, an unknown type, and a malformed option, in words', () => {
    expect(() => typeOverrides(['--type', 'weight=number'], names)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/no column "weight".*model, mpg, zip/) }));
    expect(() => typeOverrides(['--type', 'mpg=float'], names)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/"float" is not a column type/) }));
    expect(() => typeOverrides(['--type', 'mpg'], names)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/column=type/) }));
  });
});
