/** The types a gradient rule sees, shared by the rule table (rules.ts) and the walker (walker.ts). */
import type { GraphBuilder } from '../graph/builder.js';
import type { Node, Value } from '../graph/ir.js';

export interface GradCtx {
  g: GraphBuilder;
  node: Node;
  inputs: (Value | null)[];
  outputs: (Value | null)[];
  /** Gradient of the loss w.r.t. each output (null where the loss does not depend on it). */
  gy: (Value | null)[];
  /** Which inputs need a gradient; rules may skip the others (return null). */
  needs: boolean[];
  /** Formulation choices of some rules (default: the ones measured faster, bench/README.md). */
  opts: GradOptions;
}

/**
 * Alternative, equal formulations of some gradients (for A/B timing in bench/ab.ts; both are
 * checked against finite differences and against each other in test/autodiff).
 */
export interface GradOptions {
  /**
   * Conv input gradient at stride 1, ungrouped or depthwise: 'conv' (default) — a Conv of dY with
   * the kernel flipped (and, ungrouped, its channel axes swapped), pads k − 1 − p (ORT runs it on
   * the batch-parallel Conv path, and NCHWc takes it where it fits); 'convtranspose' —
   * ConvTranspose(dY, W) (serial over images, single-threaded Col2im). Strided and other grouped
   * convolutions always use ConvTranspose. (1×1 convs took ConvTranspose until the eleventh
   * session: measured on an idle machine the Conv form is 1.07× faster on the mobilenet step.)
   * 'native' — the ConvGradX operator of graph/native-ops.ts (oneDNN's backward-data kernel;
   * every 2-D float32 conv, strided and grouped ones included, but unpadded 1×1 ones at stride 1,
   * a single GEMM in onnxruntime's 'conv' form; others fall back to the default).
   */
  convInputGrad?: 'conv' | 'convtranspose' | 'native';
  /**
   * Conv weight gradient without groups: 'offsets' (default) — one Gemm per kernel offset o,
   * dW[·, ·, o] = Gᵀ·(the channels-last padded input sliced at o), no patch matrix; it applies at
   * stride 1 with a kernel > 1×1 and ≥ 16 input channels, the rest take 'im2col-rows' (measured:
   * cnn KD step 1.07×, resnet 1.07× against 'im2col-rows', peak RSS lower again; bench/README.md).
   * 'im2col' — the k² shifted (strided) views of the padded, batch-transposed input stacked by
   * Slice/Concat, then one Gemm with dY; 'im2col-rows' — im2col one kernel row at a time (a Gemm
   * per row of offsets, the rows' results concatenated), so only one row's patch matrix is alive
   * at once (against 'im2col': the same speed within 3%, peak RSS of the cnn KD step 469 → 323 MB,
   * resnet 757 → 531 MB); 'conv' — a Conv over batch↔channel transposed tensors (ORT's
   * ExpandThenGemm path: serial over channels). Grouped convolutions always use the grouped Conv
   * form. 'native' — the ConvGradW operator of graph/native-ops.ts (oneDNN's backward-weights
   * kernel, reading X and dY in place; every 2-D float32 conv, grouped ones included; others
   * fall back to the default).
   */
  convWeightGrad?: 'im2col' | 'im2col-rows' | 'offsets' | 'conv' | 'native';
  /**
   * Where 'offsets' does not fit: convs whose patch matrix (N·|y|·C·k² values) is at most this
   * many times dY's size (N·|y|·M) take 'im2col' (one Gemm, reading dY once), the larger ones
   * 'im2col-rows' (a Gemm per kernel row, each reading dY). Default 2: the first convs of the
   * bench's students (1 channel, 5×5, 32 out: 25 ≤ 64; 3 channels, 3×3, 16 out: 27 ≤ 32), where
   * it measured cnn step 1.08×, mobilenet 1.06×, resnet 1.03× (CPU time, 2 threads); 0 sends them
   * all to 'im2col-rows', as before the thirteenth session.
   */
  im2colPatchLimit?: number;
  /**
   * BatchNormalization (training) gradient: 'fused' (default) — the 'affine' formula with the
   * per-channel sums in two stages and d·(x − μ) − a·mean G as one inference-mode
   * BatchNormalization fed the batch's μ and σ²; 'affine' — per-channel factors first, then
   * dx = a·(G − mean G) + d·(x − μ) (fewer full-size passes); 'plain' — through x̂ as written;
   * 'native' — the BatchNormGrad operator of graph/native-ops.ts (two passes over X and dY: the
   * statistics and sums, then dX; float32 only, others fall back to the default).
   */
  batchNormGrad?: 'fused' | 'affine' | 'plain' | 'native';
  /**
   * Relu and Clip gradients: 'mul' (default) — gy times the mask cast to a float (Relu: y > 0;
   * Clip: the bounds' And); 'where' — Where(mask, gy, 0); 'native' — the ReluGrad / ClipGrad
   * operators of graph/native-ops.ts (one pass; float32, Clip with both bounds; others as 'mul').
   */
  maskGrad?: 'mul' | 'where' | 'native';
  /**
   * MaxPool with non-overlapping square windows (kernel = stride, no pads, static sizes):
   * 'argmax' (default) — where the windows tile the input exactly, the first arg-max found again
   * as ArgMax over SpaceToDepth's b² window positions, then MaxUnpool (the cnn step 1.03–1.04× at
   * 1 and 2 threads against 'indices'; elsewhere as 'phases' where a MaxPool has no Indices
   * output, else as 'indices'); 'indices' — MaxUnpool by the forward's Indices; 'phases' — found from the window's strided phases and the pooled
   * output, then MaxUnpool (the cnn step measured 1.03× at 1 thread, 0.94× at 2 threads and +14%
   * peak RSS). Without Indices the forward MaxPool loses that output (prune) and onnxruntime's
   * MaxPool alone is ~6× faster. A MaxPool built without Indices (an imported model's) takes
   * 'argmax' where it fits, else 'phases'; overlapping windows need the Indices.
   * 'native' — the MaxPoolGrad operator of graph/native-ops.ts (one pass over X and dY: the first
   * maximum of each window found again; 2-D float32 pools without dilation or ceil mode, the
   * others fall back to the default); the forward MaxPool loses its Indices output.
   */
  maxPoolGrad?: 'argmax' | 'phases' | 'indices' | 'native';
  /**
   * GlobalAveragePool's gradient: 'expand' (default) — gy/|spatial| by Expand; 'native' — the
   * GlobalAveragePoolGrad operator of graph/native-ops.ts (one write pass: onnxruntime's Expand ran
   * at ~1.3 GB/s on the mobilenet step; float32 only, others as 'expand').
   */
  globalPoolGrad?: 'expand' | 'native';
}
/** One gradient per input (null: none/not needed). May be broadcast-shaped; the walker sums it down. */
export type GradRule = (c: GradCtx) => (Value | null)[];
