// A wallet for tests and the demo: the wallet side of the WalletConnect sign-client holding one
// ethers key. It pairs with a `wc:` URI, approves or rejects session proposals and requests as
// told, and sends approved transactions to the chain at rpcUrl.
import { randomBytes } from 'node:crypto';
import { SignClient } from '@walletconnect/sign-client';
import type { SignClientTypes } from '@walletconnect/types';
import { getSdkError } from '@walletconnect/utils';
import { JsonRpcProvider, Wallet, type TransactionRequest } from 'ethers';

export type Answer = 'approve' | 'reject';

export interface TestWalletOptions {
  relayUrl: string;
  projectId: string;
  /** The chain the wallet sends transactions to. */
  rpcUrl: string;
  chainId: number;
  privateKey: string;
  /** The chain the wallet says it is on when it approves a session (default: chainId): a wrong one tests the app's chain check. */
  sessionChainId?: number;
}

export interface TestWallet {
  readonly address: string;
  /** How the wallet answers the next session proposals and requests. */
  answers: { sessions: Answer; requests: Answer };
  /** Every request the wallet was asked, in order. */
  readonly requests: { method: string; params: unknown; answer: Answer; result?: string }[];
  pair(uri: string): Promise<void>;
  close(): Promise<void>;
}

export async function startTestWallet(o: TestWalletOptions): Promise<TestWallet> {
  const provider = new JsonRpcProvider(o.rpcUrl, o.chainId, { staticNetwork: true });
  const signer = new Wallet(o.privateKey, provider);
  const client = await SignClient.init({
    projectId: o.projectId,
    relayUrl: o.relayUrl,
    customStoragePrefix: `test-wallet-${randomBytes(6).toString('hex')}`,
    telemetryEnabled: false,
    logger: 'silent',
    metadata: { name: 'Test wallet', description: 'A wallet for tests', url: 'http://127.0.0.1', icons: [] },
  });
  // The wallet side asks a Verify server about every proposal and request: nothing to ask here.
  Object.assign(client.core.verify, { resolve: () => Promise.resolve(undefined) });

  const requests: TestWallet['requests'] = [];
  const wallet: TestWallet = {
    address: signer.address,
    answers: { sessions: 'approve', requests: 'approve' },
    requests,
    pair: async (uri) => {
      await client.pair({ uri });
    },
    close: async () => {
      client.core.heartbeat.stop();
      await client.core.relayer.transportClose();
      provider.destroy();
    },
  };

  client.on('session_proposal', (event: SignClientTypes.EventArguments['session_proposal']) => {
    void (async () => {
      if (wallet.answers.sessions === 'reject') {
        await client.reject({ id: event.id, reason: getSdkError('USER_REJECTED') });
        return;
      }
      const chain = `eip155:${o.sessionChainId ?? o.chainId}`;
      const { acknowledged } = await client.approve({
        id: event.id,
        namespaces: {
          eip155: {
            chains: [chain],
            accounts: [`${chain}:${signer.address}`],
            methods: ['eth_sendTransaction'],
            events: ['accountsChanged', 'chainChanged'],
          },
        },
      });
      await acknowledged();
    })().catch(() => undefined);
  });

  client.on('session_request', (event: SignClientTypes.EventArguments['session_request']) => {
    void (async () => {
      const { method, params } = event.params.request;
      const answer = wallet.answers.requests;
      if (answer === 'reject' || method !== 'eth_sendTransaction') {
        requests.push({ method, params, answer: 'reject' });
        await client.respond({ topic: event.topic, response: { id: event.id, jsonrpc: '2.0', error: getSdkError('USER_REJECTED') } });
        return;
      }
      const [tx] = params as [{ from: string; to: string; data?: string; value?: string; gas?: string }];
      const request: TransactionRequest = { to: tx.to, data: tx.data, value: tx.value ? BigInt(tx.value) : 0n };
      if (tx.gas) request.gasLimit = BigInt(tx.gas);
      const sent = await signer.sendTransaction(request);
      requests.push({ method, params, answer, result: sent.hash });
      await client.respond({ topic: event.topic, response: { id: event.id, jsonrpc: '2.0', result: sent.hash } });
    })().catch(() => undefined);
  });

  return wallet;
}
