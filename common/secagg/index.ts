// Secure aggregation (SecAgg+): what the coordinator and the app use.
export { SecAggClient, type SecAggClientOptions } from './client.js';
export { SecAggServer, type AggregateResult, type Outgoing } from './server.js';
export { recommendedRoundParams, validateRoundParams, DEFAULT_DEADLINES, ROUND_ID_BYTES, type RoundParams, type StageDeadlines } from './params.js';
export { neighbourhoodFor, DEFAULT_ASSUMPTIONS, type CollusionAssumptions, type Neighbourhood } from './sizing.js';
export { generateSigningKeyPair, type SigningKeyPair } from './keys.js';
export { NeighbourGraph } from './graph.js';
export { quantizationErrorBound, quantizationStep } from './quantize.js';
export { weightedInput, weightedMeanFromSum, meanFromSum, fedAvgStep, type WeightedMean } from './fedavg.js';
export { MessageType, WIRE_VERSION, readHeader } from './wire.js';
export { STAGES, type RoundStage } from './stages.js';
export { loadSodium } from './sodium.js';
