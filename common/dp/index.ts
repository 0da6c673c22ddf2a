// Differential privacy: clipping, distributed noise, RDP accounting and the personal budget.
export {
  clipL2,
  gaussianNoise,
  l2Norm,
  perContributorNoiseStddev,
  privatizeUpdate,
  weightedSensitivity,
  type DistributedNoise,
} from './noise.js';
export { addDiscreteGaussian, RandomIntegers, rationalVariance } from './discrete.js';
export {
  checkShareVariance,
  distributedDiscreteGaussianEpsilon,
  equivalentNoiseMultiplier,
  integerSensitivity,
  log2WrapProbability,
  noisyRoundParams,
  roundShareVariance,
  shareVariance,
  MIN_SHARE_STDDEV,
  WRAP_PROBABILITY,
  type IntegerNoise,
  type SumNoise,
} from './integer-noise.js';
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
