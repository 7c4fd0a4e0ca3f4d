// The online-softmax update of one key tile, shared by the tiled attention kernels: the forward
// of flash attention and the split passes of decode and sparse attention. Scores are in the
// log2 domain (the kernels scale q by scale·log2 e and use exp2); a masked score is NEG.

/**
 * WGSL declarations of the running state the update keeps per row: max `ms`, sum `ls`, and the
 * rescale factor `alpha` of the last tile (workgroup arrays of `rows` f32).
 */
export function onlineSoftmaxStateWgsl(rows: number): string {
  return `var<workgroup> ms: array<f32, ${rows}>;
var<workgroup> ls: array<f32, ${rows}>;
var<workgroup> alpha: array<f32, ${rows}>;`;
}

/** WGSL names of the score tile that {@linkcode onlineSoftmaxTileWgsl} updates. */
export interface OnlineSoftmaxNames {
  /** Workgroup array of the tile's scores, row-major: `scores[r * tile + t]`. */
  scores: string;
  /** WGSL constant: rows of the tile (the workgroup's query rows). */
  rows: string;
  /** WGSL constant: keys (columns) of the tile. */
  tile: string;
}

/**
 * WGSL statements (inside `main`, between the barrier after the scores and the one before the
 * output update) in which the threads take the tile's rows r = tid, tid + NT, … and, per row,
 * find the tile's max, move the running max to `mn = max(ms[r], tile max)`, replace each score
 * x by its weight `p = 2^(x − mn)` (0 where x is masked: x ≤ NEG/2), put the factor
 * `2^(ms[r] − mn)` that rescales the row's output accumulator in `alpha[r]`, and set
 * `ls[r] = ls[r]·alpha[r] + Σ p`, `ms[r] = mn`. The shader declares `NT` (threads), `NEG`
 * (−1e30) and the state of {@linkcode onlineSoftmaxStateWgsl} (`ms` initialised to NEG, `ls`
 * to 0).
 */
export function onlineSoftmaxTileWgsl(names: OnlineSoftmaxNames): string {
  const { scores: S, rows: R, tile: T } = names;
  return `    for (var r = tid; r < ${R}; r += NT) {
      var tmax = NEG;
      for (var t = 0u; t < ${T}; t++) { tmax = max(tmax, ${S}[r * ${T} + t]); }
      let mn = max(ms[r], tmax);
      var sum = 0.0;
      for (var t = 0u; t < ${T}; t++) {
        let x = ${S}[r * ${T} + t];
        let p = select(0.0, exp2(x - mn), x > 0.5 * NEG);
        ${S}[r * ${T} + t] = p;
        sum += p;
      }
      let a = exp2(ms[r] - mn);
      alpha[r] = a;
      ls[r] = ls[r] * a + sum;
      ms[r] = mn;
    }`;
}
