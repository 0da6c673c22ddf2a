// Two jobs that save their records at once must both land: a setting is read and changed inside
// the vault's write queue (updateSetting), not read first and written later.
import { describe, expect, it } from 'vitest';
import { TroveError } from '../../../common/errors.js';
import { newVault, useTempDir } from '../../helpers/vault.js';

type Records = Record<string, { rounds: number }>;
const NAME = 'jobs.participation.test';

describe('changing a setting in the write queue', () => {
  const t = useTempDir();

  it('keeps both of two changes made at once', async () => {
    const v = await newVault(t);
    await Promise.all([
      v.updateSetting<Records>(NAME, (all) => ({ ...all, a: { rounds: 1 } })),
      v.updateSetting<Records>(NAME, (all) => ({ ...all, b: { rounds: 2 } })),
    ]);
    expect(v.getSetting<Records>(NAME)).toEqual({ a: { rounds: 1 }, b: { rounds: 2 } });
  });

  it('counts every one of many changes made at once', async () => {
    const v = await newVault(t);
    await Promise.all(Array.from({ length: 25 }, () => v.updateSetting<number>('count', (n) => (n ?? 0) + 1)));
    expect(v.getSetting<number>('count')).toBe(25);
  });

  it('positive control: reading first and writing later loses one of the two', async () => {
    const v = await newVault(t);
    const save = (key: string, rounds: number) => v.setSetting(NAME, { ...v.getSetting<Records>(NAME), [key]: { rounds } });
    await Promise.all([save('a', 1), save('b', 2)]);
    expect(Object.keys(v.getSetting<Records>(NAME) ?? {})).toHaveLength(1);
  });

  it('leaves the setting as it was when the change throws', async () => {
    const v = await newVault(t);
    await v.setSetting(NAME, { a: { rounds: 1 } });
    const refused = v.updateSetting<Records>(NAME, () => {
      throw new TroveError('INVALID_INPUT', 'no');
    });
    await expect(refused).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(v.getSetting<Records>(NAME)).toEqual({ a: { rounds: 1 } });
  });
});
