// The training part of a job spec: which columns feed the model and how, the model itself as a
// declarative layers spec from an allowlist (never code), and the local step of a federated
// round. Every field is checked here, before the worker spends a single cycle on training, and
// every failure is a typed INVALID_JOB_SPEC error naming the field.
import { z } from 'zod';
import { TroveError } from './errors.js';

/** Bounds that keep a job from asking a contributor's machine for something absurd. */
export const TRAINING_LIMITS = {
  maxFeatures: 256,
  maxCategories: 1000,
  maxInputWidth: 4096,
  maxLayers: 32,
  maxUnits: 4096,
  maxParameters: 5_000_000,
  maxEpochs: 100,
  maxBatchSize: 8192,
  maxClasses: 1000,
} as const;

const finite = z.number().finite();
const columnName = z.string().min(1).max(256);

const numericScaling = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  // Fixed by the researcher so that every contributor maps values the same way.
  z.object({ kind: z.literal('standard'), mean: finite, std: finite.positive() }).strict(),
  z.object({ kind: z.literal('minmax'), min: finite, max: finite }).strict()
    .refine((s) => s.max > s.min, { message: 'max must be greater than min', path: ['max'] }),
]);

const numericFeature = z.object({
  column: columnName,
  kind: z.literal('numeric'),
  scaling: numericScaling.default({ kind: 'none' }),
  /** What a missing value becomes: a raw value (before scaling), or the row is dropped. */
  missing: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('impute'), value: finite }).strict(),
    z.object({ kind: z.literal('drop-row') }).strict(),
  ]).default({ kind: 'drop-row' }),
  /** Adds a 0/1 input that says whether the value was missing. */
  indicator: z.boolean().default(false),
}).strict();

const categoricalFeature = z.object({
  column: columnName,
  kind: z.literal('categorical'),
  /** The one-hot vocabulary, in order; it fixes the input width on every machine. */
  categories: z.array(z.string().max(256)).min(1).max(TRAINING_LIMITS.maxCategories)
    .refine((c) => new Set(c).size === c.length, { message: 'categories must be distinct' }),
  /** Missing or unknown values: all-zero one-hot, an extra "other" input, or drop the row. */
  unknown: z.enum(['zeros', 'other', 'drop-row']).default('zeros'),
}).strict();

export const featureSpec = z.discriminatedUnion('kind', [numericFeature, categoricalFeature]);

export const labelSpec = z.discriminatedUnion('kind', [
  /** Classes matched by their text (numbers and booleans as JSON writes them); others dropped. */
  z.object({
    column: columnName,
    kind: z.literal('class'),
    classes: z.array(z.string().max(256)).min(2).max(TRAINING_LIMITS.maxClasses)
      .refine((c) => new Set(c).size === c.length, { message: 'classes must be distinct' }),
  }).strict(),
  z.object({ column: columnName, kind: z.literal('value'), scaling: numericScaling.default({ kind: 'none' }) }).strict(),
]);

export const ACTIVATIONS = ['relu', 'sigmoid', 'tanh', 'softmax', 'linear', 'elu', 'selu', 'softplus'] as const;
const activation = z.enum(ACTIVATIONS);

export const layerSpec = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('dense'),
    units: z.number().int().min(1).max(TRAINING_LIMITS.maxUnits),
    activation: activation.default('linear'),
    useBias: z.boolean().default(true),
  }).strict(),
  z.object({ type: z.literal('dropout'), rate: z.number().min(0).max(0.95) }).strict(),
  z.object({
    type: z.literal('batch-norm'),
    momentum: z.number().min(0).max(1).default(0.99),
    epsilon: z.number().positive().max(1).default(0.001),
  }).strict(),
  z.object({ type: z.literal('activation'), activation }).strict(),
]);

export const optimizerSpec = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sgd'), learningRate: z.number().positive().max(10) }).strict(),
  z.object({
    kind: z.literal('adam'),
    learningRate: z.number().positive().max(10),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    epsilon: z.number().positive().max(1).default(1e-7),
  }).strict(),
  z.object({ kind: z.literal('rmsprop'), learningRate: z.number().positive().max(10), decay: z.number().min(0).lt(1).default(0.9) }).strict(),
]);

export const LOSSES = ['categorical-crossentropy', 'binary-crossentropy', 'mean-squared-error'] as const;

export const trainingJobSpec = z.object({
  kind: z.literal('federated-training'),
  features: z.array(featureSpec).min(1).max(TRAINING_LIMITS.maxFeatures),
  label: labelSpec,
  model: z.object({
    /** Declared input width: must equal the width the feature mapping produces. */
    inputWidth: z.number().int().min(1).max(TRAINING_LIMITS.maxInputWidth),
    layers: z.array(layerSpec).min(1).max(TRAINING_LIMITS.maxLayers),
    loss: z.enum(LOSSES),
  }).strict(),
  optimizer: optimizerSpec,
  local: z.object({
    epochs: z.number().int().min(1).max(TRAINING_LIMITS.maxEpochs),
    batchSize: z.number().int().min(1).max(TRAINING_LIMITS.maxBatchSize),
    /** Share of the local rows kept out of training to report honest local metrics. */
    heldOutFraction: z.number().min(0).max(0.5).default(0.1),
    /** The update (new weights minus global weights) is scaled down to this L2 norm. */
    clipNorm: z.number().positive().max(1e6),
    seed: z.number().int().min(0).max(2 ** 32 - 1),
  }).strict(),
}).strict();

export type FeatureSpec = z.infer<typeof featureSpec>;
export type LabelSpec = z.infer<typeof labelSpec>;
export type LayerSpec = z.infer<typeof layerSpec>;
export type OptimizerSpec = z.infer<typeof optimizerSpec>;
export type TrainingJobSpec = z.infer<typeof trainingJobSpec>;
export type TrainingJobSpecInput = z.input<typeof trainingJobSpec>;

/** Inputs one feature contributes to the model's input vector. */
export function featureWidth(f: FeatureSpec): number {
  if (f.kind === 'numeric') return f.indicator ? 2 : 1;
  return f.categories.length + (f.unknown === 'other' ? 1 : 0);
}

export function inputWidthOf(features: FeatureSpec[]): number {
  return features.reduce((n, f) => n + featureWidth(f), 0);
}

/** Width of the model's output the label needs. */
export function outputWidthOf(spec: Pick<TrainingJobSpec, 'label' | 'model'>): number {
  if (spec.label.kind === 'value') return 1;
  return spec.model.loss === 'binary-crossentropy' && spec.label.classes.length === 2 ? 1 : spec.label.classes.length;
}

/** Trainable and non-trainable weights of the model, in the order TensorFlow.js lists them. */
export interface WeightShape {
  layer: number;
  name: 'kernel' | 'bias' | 'gamma' | 'beta' | 'moving_mean' | 'moving_variance';
  shape: number[];
  trainable: boolean;
}

export function weightShapesOf(model: TrainingJobSpec['model']): WeightShape[] {
  const out: WeightShape[] = [];
  let width = model.inputWidth;
  model.layers.forEach((layer, i) => {
    if (layer.type === 'dense') {
      out.push({ layer: i, name: 'kernel', shape: [width, layer.units], trainable: true });
      if (layer.useBias) out.push({ layer: i, name: 'bias', shape: [layer.units], trainable: true });
      width = layer.units;
    } else if (layer.type === 'batch-norm') {
      out.push({ layer: i, name: 'gamma', shape: [width], trainable: true });
      out.push({ layer: i, name: 'beta', shape: [width], trainable: true });
      out.push({ layer: i, name: 'moving_mean', shape: [width], trainable: false });
      out.push({ layer: i, name: 'moving_variance', shape: [width], trainable: false });
    }
  });
  // TensorFlow.js lists every trainable weight first, then the non-trainable ones (batch-norm's
  // moving statistics), each group in layer order.
  return [...out.filter((w) => w.trainable), ...out.filter((w) => !w.trainable)];
}

export function parameterCountOf(model: TrainingJobSpec['model']): number {
  return weightShapesOf(model).reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
}

function invalid(path: string, message: string): TroveError {
  return new TroveError('INVALID_JOB_SPEC', `The job's training spec is not valid: ${path ? `${path}: ` : ''}${message}.`, { path, reason: message });
}

/**
 * Parses and checks a training job spec. Beyond the schema: the declared input width must match
 * the features, the last dense layer must fit the label and loss, and the model must stay within
 * TRAINING_LIMITS. Throws TroveError('INVALID_JOB_SPEC') naming the first bad field.
 */
export function parseTrainingJobSpec(input: unknown): TrainingJobSpec {
  const parsed = trainingJobSpec.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(issue.path.map(String).join('.'), issue.message);
  }
  const spec = parsed.data;

  const featureColumns = new Set<string>();
  spec.features.forEach((f, i) => {
    if (featureColumns.has(f.column)) throw invalid(`features.${i}.column`, `column "${f.column}" is used twice`);
    featureColumns.add(f.column);
  });
  if (featureColumns.has(spec.label.column)) throw invalid('label.column', 'the label column is also a feature');

  const width = inputWidthOf(spec.features);
  if (width > TRAINING_LIMITS.maxInputWidth) throw invalid('features', `the features make ${width} inputs, more than ${TRAINING_LIMITS.maxInputWidth}`);
  if (spec.model.inputWidth !== width) {
    throw invalid('model.inputWidth', `the model declares ${spec.model.inputWidth} inputs but the features produce ${width}`);
  }

  const layers = spec.model.layers;
  let lastDense = -1;
  layers.forEach((l, i) => {
    if (l.type === 'dense') lastDense = i;
  });
  if (lastDense < 0) throw invalid('model.layers', 'the model needs at least one dense layer');
  const out = layers[lastDense] as Extract<LayerSpec, { type: 'dense' }>;
  for (let i = lastDense + 1; i < layers.length; i++) {
    if (layers[i]!.type !== 'activation') throw invalid(`model.layers.${i}`, 'only an activation may follow the output layer');
  }
  const trailing = layers.slice(lastDense + 1) as Extract<LayerSpec, { type: 'activation' }>[];
  const outputActivation = trailing.length > 0 ? trailing[trailing.length - 1]!.activation : out.activation;
  const wanted = outputWidthOf(spec);
  if (out.units !== wanted) {
    throw invalid(`model.layers.${lastDense}.units`, `the output layer has ${out.units} units but the label needs ${wanted}`);
  }
  const loss = spec.model.loss;
  if (spec.label.kind === 'value' && loss !== 'mean-squared-error') throw invalid('model.loss', 'a value label needs mean-squared-error');
  if (spec.label.kind === 'class') {
    if (loss === 'mean-squared-error') throw invalid('model.loss', 'a class label needs a cross-entropy loss');
    if (loss === 'categorical-crossentropy' && outputActivation !== 'softmax') {
      throw invalid(`model.layers.${lastDense}.activation`, 'categorical-crossentropy needs a softmax output');
    }
    if (loss === 'binary-crossentropy' && (spec.label.classes.length !== 2 || outputActivation !== 'sigmoid')) {
      throw invalid('model.loss', 'binary-crossentropy needs exactly two classes and a sigmoid output');
    }
  }
  if (loss === 'mean-squared-error' && outputActivation === 'softmax') throw invalid(`model.layers.${lastDense}.activation`, 'a regressor may not end in softmax');
  layers.forEach((l, i) => {
    if (i < lastDense && l.type === 'dense' && l.activation === 'softmax') throw invalid(`model.layers.${i}.activation`, 'softmax is only allowed on the output layer');
  });

  const params = parameterCountOf(spec.model);
  if (params > TRAINING_LIMITS.maxParameters) {
    throw invalid('model.layers', `the model has ${params} parameters, more than ${TRAINING_LIMITS.maxParameters}`);
  }
  return spec;
}

/** The columns a training job reads, label last: what a data grant must cover and no more. */
export function columnsReadBy(spec: TrainingJobSpec): string[] {
  return [...spec.features.map((f) => f.column), spec.label.column];
}
