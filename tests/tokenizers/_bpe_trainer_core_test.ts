import { ok } from "node:assert/strict";
import { codeLengthDelta } from "../../lib/tokenizers/_bpe_trainer_core.ts";
import { Rng } from "../../mod.ts";

/** Order-0 code length N·log₂N − Σ nᵢ·log₂nᵢ of a stream, counted from scratch. */
function codeLength(stream: number[]): number {
  const n = new Map<number, number>();
  for (const x of stream) n.set(x, (n.get(x) ?? 0) + 1);
  let L = stream.length * Math.log2(stream.length);
  for (const c of n.values()) L -= c * Math.log2(c);
  return L;
}

/** Merges non-overlapping (a, b) left to right, as the trainer does; returns stream and count. */
function mergeStream(s: number[], a: number, b: number, id: number): [number[], number] {
  const out: number[] = [];
  let p = 0;
  for (let i = 0; i < s.length; i++) {
    if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
      out.push(id);
      p++;
      i++;
    } else out.push(s[i]);
  }
  return [out, p];
}

Deno.test("codeLengthDelta equals the recounted change of N·H₁ (distinct and repeated symbols)", () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 50; trial++) {
    const alphabet = 2 + Math.floor(rng.next() * 4);
    const s = Array.from(
      { length: 5 + Math.floor(rng.next() * 60) },
      () => Math.floor(rng.next() * alphabet),
    );
    const a = s[0], b = trial % 3 === 0 ? s[0] : s[1];
    const [merged, p] = mergeStream(s, a, b, alphabet);
    if (p === 0) continue;
    // a == b with runs: the trainer's pair count counts overlaps, so only compare when exact
    const n = new Array(alphabet).fill(0);
    for (const x of s) n[x]++;
    const got = codeLengthDelta(n, s.length, { a, b, count: p });
    const want = codeLength(merged) - codeLength(s);
    ok(
      Math.abs(got - want) < 1e-9 * Math.max(1, Math.abs(want)),
      `trial ${trial}: ${got} vs ${want}`,
    );
  }
});
