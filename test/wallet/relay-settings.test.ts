// The relay settings form and the wallet service refuse the same bad input with the same words,
// and keep good input in one normal form.
import { describe, expect, it } from 'vitest';
import { normalRelaySettings, relaySettingsProblem } from '../../common/wallet/relay-settings.js';

describe('relay settings', () => {
  it('accepts a wss relay, and a ws relay on this computer, with a project id', () => {
    expect(relaySettingsProblem({ relayUrl: 'wss://relay.walletconnect.org', projectId: 'a1b2c3d4e5f6' })).toBeNull();
    expect(relaySettingsProblem({ relayUrl: 'ws://127.0.0.1:4100', projectId: 'trove-demo' })).toBeNull();
    expect(normalRelaySettings({ relayUrl: ' wss://relay.example/ ', projectId: ' abc ' })).toEqual({ relayUrl: 'wss://relay.example', projectId: 'abc' });
  });

  it.each([
    [{ relayUrl: 'relay.walletconnect.org', projectId: 'x' }, /not a web address/],
    [{ relayUrl: 'https://relay.walletconnect.org', projectId: 'x' }, /must start with wss:\/\//],
    [{ relayUrl: 'wss://me:secret@relay.example', projectId: 'x' }, /user name or password/],
    [{ relayUrl: 'wss://relay.example', projectId: '   ' }, /project id is empty/],
    [{ relayUrl: 'wss://relay.example', projectId: 'a b"<' }, /only letters, digits/],
  ])('refuses %j', (settings, why) => {
    expect(relaySettingsProblem(settings)).toMatch(why);
  });
});
