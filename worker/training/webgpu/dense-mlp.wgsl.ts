// WGSL compute kernels for training a plain dense network on the GPU: the same arithmetic as the
// WebAssembly kernel (kernel/gemm.wat and kernel/dense-mlp.ts), in the same summation order, so
// the two agree to float rounding.
//
// Everything a round needs lives on the GPU: the rows (xs, ys), every epoch's shuffled order, a
// schedule with each step's first row, row count and Adam bias corrections, and one arena with
// parameters (TensorFlow.js's flat order), gradients, Adam moments, activations and deltas. A step
// counter in `state` tells each kernel which batch it is on, so a whole epoch is the same short
// sequence of dispatches repeated, recorded once and submitted without a round trip.
//
// Passes read their offsets and sizes from a uniform slot chosen by a dynamic offset.

/** Names of the entry points, in the order the engine builds their pipelines. */
export const ENTRY_POINTS = ['gather', 'forward', 'outputDelta', 'weightGrad', 'inputDelta', 'adam', 'sgd', 'advance'] as const;
export type EntryPoint = (typeof ENTRY_POINTS)[number];

/** Loss kinds as the outputDelta pass numbers them. */
export const LOSS_CODE = { 'softmax-crossentropy': 0, 'sigmoid-crossentropy': 1, mse: 2 } as const;

/** Floats in one uniform slot (see `Pass` below). */
export const PASS_FLOATS = 20;

export const DENSE_MLP_WGSL = /* wgsl */ `
struct Pass {
  din: u32, dout: u32, aIn: u32, aOut: u32,
  w: u32, b: u32, gw: u32, gb: u32,
  dOut: u32, dIn: u32, relu: u32, count: u32,
  lr: f32, beta1: f32, beta2: f32, eps: f32,
  m: u32, v: u32, loss: u32, pad: u32,
}

@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(2) var<storage, read> ys: array<f32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
// per step: first index into order, rows, Adam's 1/(1-beta1^t) and 1/(1-beta2^t) as f32 bits
@group(0) @binding(4) var<storage, read> schedule: array<u32>;
// [0] the current step; then per step: mean loss and correct count, as f32 bits
@group(0) @binding(5) var<storage, read_write> state: array<u32>;
@group(0) @binding(6) var<uniform> p: Pass;

fn stepStart() -> u32 { return schedule[state[0] * 4u]; }
fn stepRows() -> u32 { return schedule[state[0] * 4u + 1u]; }

// The batch's rows of xs, in this epoch's order, into the input activations.
@compute @workgroup_size(8, 8)
fn gather(@builtin(global_invocation_id) id: vec3<u32>) {
  let j = id.x;
  let r = id.y;
  if (r >= stepRows() || j >= p.din) { return; }
  let src = order[stepStart() + r];
  arena[p.aOut + r * p.din + j] = xs[src * p.din + j];
}

// A_out = A_in . W + b, then relu when asked.
@compute @workgroup_size(8, 8)
fn forward(@builtin(global_invocation_id) id: vec3<u32>) {
  let j = id.x;
  let r = id.y;
  if (r >= stepRows() || j >= p.dout) { return; }
  var acc = arena[p.b + j];
  let row = p.aIn + r * p.din;
  for (var k = 0u; k < p.din; k++) {
    acc += arena[row + k] * arena[p.w + k * p.dout + j];
  }
  if (p.relu == 1u && acc < 0.0) { acc = 0.0; }
  arena[p.aOut + r * p.dout + j] = acc;
}

var<workgroup> lossParts: array<f32, 64>;
var<workgroup> correctParts: array<f32, 64>;

// dLoss/dZ of the output layer, and the batch's mean loss and correct count (reduced in a fixed
// order, so a run repeats exactly).
@compute @workgroup_size(64)
fn outputDelta(@builtin(local_invocation_index) lid: u32) {
  let n = stepRows();
  let start = stepStart();
  let outs = p.dout;
  let inv = 1.0 / f32(n);
  var loss = 0.0;
  var correct = 0.0;
  for (var r = lid; r < n; r += 64u) {
    let z = p.aIn + r * outs;
    let d = p.dOut + r * outs;
    let yr = order[start + r] * outs;
    if (p.loss == 0u) {
      var mx = arena[z];
      var arg = 0u;
      for (var j = 1u; j < outs; j++) {
        if (arena[z + j] > mx) { mx = arena[z + j]; arg = j; }
      }
      var sum = 0.0;
      for (var j = 0u; j < outs; j++) {
        let e = exp(arena[z + j] - mx);
        arena[d + j] = e;
        sum += e;
      }
      let logSum = log(sum);
      let invSum = 1.0 / sum;
      var want = 0u;
      var best = ys[yr];
      for (var j = 0u; j < outs; j++) {
        let t = ys[yr + j];
        if (t > best) { best = t; want = j; }
        if (t != 0.0) { loss -= t * (arena[z + j] - mx - logSum); }
        arena[d + j] = (arena[d + j] * invSum - t) * inv;
      }
      if (arg == want) { correct += 1.0; }
    } else if (p.loss == 1u) {
      for (var j = 0u; j < outs; j++) {
        let zj = arena[z + j];
        let t = ys[yr + j];
        let q = 1.0 / (1.0 + exp(-zj));
        loss += max(zj, 0.0) - zj * t + log(1.0 + exp(-abs(zj)));
        arena[d + j] = ((q - t) * inv) / f32(outs);
        if ((q >= 0.5) == (t >= 0.5)) { correct += 1.0 / f32(outs); }
      }
    } else {
      for (var j = 0u; j < outs; j++) {
        let e = arena[z + j] - ys[yr + j];
        loss += (e * e) / f32(outs);
        arena[d + j] = (2.0 * e * inv) / f32(outs);
      }
    }
  }
  lossParts[lid] = loss;
  correctParts[lid] = correct;
  workgroupBarrier();
  for (var half = 32u; half > 0u; half = half / 2u) {
    if (lid < half) {
      lossParts[lid] += lossParts[lid + half];
      correctParts[lid] += correctParts[lid + half];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let s = state[0];
    state[1u + 2u * s] = bitcast<u32>(lossParts[0] * inv);
    state[2u + 2u * s] = bitcast<u32>(correctParts[0]);
  }
}

// dW = A_in^T . D_out over the batch's rows; row din is the bias (column sums of D_out).
@compute @workgroup_size(8, 8)
fn weightGrad(@builtin(global_invocation_id) id: vec3<u32>) {
  let j = id.x;
  let i = id.y;
  if (j >= p.dout || i > p.din) { return; }
  let n = stepRows();
  var acc = 0.0;
  if (i == p.din) {
    for (var r = 0u; r < n; r++) { acc += arena[p.dOut + r * p.dout + j]; }
    arena[p.gb + j] = acc;
  } else {
    for (var r = 0u; r < n; r++) { acc += arena[p.aIn + r * p.din + i] * arena[p.dOut + r * p.dout + j]; }
    arena[p.gw + i * p.dout + j] = acc;
  }
}

// D_in = D_out . W^T, kept only where the layer's relu let the input through.
@compute @workgroup_size(8, 8)
fn inputDelta(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  let r = id.y;
  if (r >= stepRows() || i >= p.din) { return; }
  var acc = 0.0;
  for (var j = 0u; j < p.dout; j++) {
    acc += arena[p.dOut + r * p.dout + j] * arena[p.w + i * p.dout + j];
  }
  if (p.relu == 1u) { acc = select(0.0, acc, arena[p.aIn + r * p.din + i] > 0.0); }
  arena[p.dIn + r * p.din + i] = acc;
}

// Adam in TensorFlow.js's form, bias corrections from the schedule.
@compute @workgroup_size(64)
fn adam(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x + id.y * 65535u * 64u;
  if (i >= p.count) { return; }
  let s = state[0];
  let c1 = bitcast<f32>(schedule[s * 4u + 2u]);
  let c2 = bitcast<f32>(schedule[s * 4u + 3u]);
  let g = arena[p.gw + i];
  let m = p.beta1 * arena[p.m + i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * arena[p.v + i] + (1.0 - p.beta2) * (g * g);
  arena[p.m + i] = m;
  arena[p.v + i] = v;
  arena[p.w + i] = arena[p.w + i] - (p.lr * (m * c1)) / (sqrt(v * c2) + p.eps);
}

@compute @workgroup_size(64)
fn sgd(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x + id.y * 65535u * 64u;
  if (i >= p.count) { return; }
  arena[p.w + i] = arena[p.w + i] - p.lr * arena[p.gw + i];
}

@compute @workgroup_size(1)
fn advance() {
  state[0] = state[0] + 1u;
}
`;
