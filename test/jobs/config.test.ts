// Where the app finds jobs: TROVE_RPC_URL and the deployment file TROVE_DEPLOYMENT names, as the
// headless host reads them.
import { describe, expect, it } from 'vitest';
import { attestationsFromEnv, jobsChainConfigFromEnv } from '../../main/services/jobs/config.js';
import { useTempDir } from '../helpers/vault.js';

const t = useTempDir();
const deployment = {
  chainId: '31337',
  deployer: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  blockNumber: 12,
  treeDepth: 20,
  contracts: { TroveToken: '0x0000000000000000000000000000000000000001', JobRegistry: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
};

describe('jobs chain settings from the environment', () => {
  it('reads the RPC URL and the deployment file', () => {
    const file = t.file('local.json', JSON.stringify(deployment));
    expect(jobsChainConfigFromEnv({ TROVE_RPC_URL: 'http://127.0.0.1:8545', TROVE_DEPLOYMENT: file })).toEqual({
      rpcUrl: 'http://127.0.0.1:8545',
      chainId: '31337',
      registry: deployment.contracts.JobRegistry,
      fromBlock: 12,
    });
  });

  it('turns jobs off without both, and refuses a file or URL it cannot use', () => {
    expect(jobsChainConfigFromEnv({ TROVE_RPC_URL: 'http://127.0.0.1:8545' })).toBeUndefined();
    expect(jobsChainConfigFromEnv({})).toBeUndefined();
    expect(() => jobsChainConfigFromEnv({ TROVE_RPC_URL: 'http://127.0.0.1:8545', TROVE_DEPLOYMENT: t.file('broken.json', '{ not json') })).toThrow(
      expect.objectContaining({ code: 'UNREADABLE_FILE' }),
    );
    const noRegistry = t.file('partial.json', JSON.stringify({ chainId: '31337', contracts: {} }));
    expect(() => jobsChainConfigFromEnv({ TROVE_RPC_URL: 'http://127.0.0.1:8545', TROVE_DEPLOYMENT: noRegistry })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    const good = t.file('local.json', JSON.stringify(deployment));
    expect(() => jobsChainConfigFromEnv({ TROVE_RPC_URL: 'file:///etc/passwd', TROVE_DEPLOYMENT: good })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

describe('the list of known researchers from the environment', () => {
  const key = 'ab'.repeat(32);
  it('reads the list file and key, and is off when neither is set', () => {
    const file = t.file('researchers.json', JSON.stringify({ list: { version: 1, researchers: [] }, signature: '0'.repeat(128) }));
    expect(attestationsFromEnv({ TROVE_RESEARCHERS: file, TROVE_RESEARCHERS_KEY: key })).toEqual({ signed: { list: { version: 1, researchers: [] }, signature: '0'.repeat(128) }, publicKey: key });
    expect(attestationsFromEnv({})).toBeUndefined();
  });

  it('refuses half a setting, a malformed key and an unreadable file with a typed error', () => {
    const file = t.file('researchers.json', '{}');
    expect(() => attestationsFromEnv({ TROVE_RESEARCHERS: file })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => attestationsFromEnv({ TROVE_RESEARCHERS: file, TROVE_RESEARCHERS_KEY: 'xyz' })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => attestationsFromEnv({ TROVE_RESEARCHERS: t.file('bad.json', 'not json'), TROVE_RESEARCHERS_KEY: key })).toThrow(expect.objectContaining({ code: 'UNREADABLE_FILE' }));
  });
});

