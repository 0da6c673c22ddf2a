// The named stages of a round, in order, shared by the client and server state machines.
import { MessageType } from './wire.js';

export const STAGES = ['setup', 'advertise-keys', 'share-keys', 'collect-masked-inputs', 'consistency-check', 'unmask', 'done', 'aborted'] as const;
export type RoundStage = (typeof STAGES)[number];

/** The stage in which each message type is sent. */
export const STAGE_OF_MESSAGE: Record<MessageType, RoundStage> = {
  [MessageType.Setup]: 'setup',
  [MessageType.AdvertiseKeys]: 'advertise-keys',
  [MessageType.NeighbourKeys]: 'share-keys',
  [MessageType.EncryptedShares]: 'share-keys',
  [MessageType.ForwardedShares]: 'collect-masked-inputs',
  [MessageType.MaskedInput]: 'collect-masked-inputs',
  [MessageType.UnmaskRequest]: 'unmask',
  [MessageType.UnmaskResponse]: 'unmask',
  [MessageType.Abort]: 'aborted',
  [MessageType.ConsistencyRequest]: 'consistency-check',
  [MessageType.ConsistencySignature]: 'consistency-check',
};

export function stageIndex(stage: RoundStage): number {
  return STAGES.indexOf(stage);
}
