// Differential privacy: clipping, distributed noise, RDP accounting and the personal budget.
export {
  clipL2,
  gaussianNoise,
  l2Norm,
  perContributorNoiseStddev,
  privatizeUpdate,
  privatizeWeightedUpdate,
  weightedSensitivity,
  type DistributedNoise,
  type WeightedNoise,
} from './noise.js';
export {
  DEFAULT_RDP_ORDERS,
  RdpAccountant,
  deltaFromRdp,
  epsilonFromRdp,
  gaussianRdp,
  noiseMultiplierFor,
  subsampledGaussianRdp,
  type FractionalSeries,
  type GaussianEvent,
} from './rdp.js';
export {
  MemoryLedgerStore,
  PrivacyLedger,
  composeCosts,
  jobPrivacyCost,
  type BudgetCheck,
  type LedgerEntry,
  type LedgerState,
  type PrivacyBudget,
  type PrivacyCost,
  type PrivacyLedgerStore,
  type SpentPrivacy,
} from './ledger.js';
