import { equal, ok, rejects } from "node:assert/strict";
import {
  bytePrefixLogProbability,
  naiveNextByteDistribution,
  NEXT_BYTE_END,
  nextByteDistribution,
  tokenHealingNextByteDistribution,
  type TokenScorer,
} from "../../lib/decoding/byte_probabilities.ts";
import { bundledModelPath, loadModel } from "../../lib/models/mod.ts";
import { Tokenizer } from "../../lib/tokenizers/tokenizer.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

const enc = new TextEncoder();

// A byte-level BPE over "a", "b", " " with a few merges ("aab" is never produced: "ab" merges first)
const vocab = Array.from({ length: 256 }, (_, b) => new Uint8Array([b]));
const A = 97, B = 98, SP = 32;
const merges: Array<[number, number]> = [[A, B], [B, A], [A, A], [SP, A], [258, B], [259, B]];
for (const [a, b] of merges) vocab.push(new Uint8Array([...vocab[a], ...vocab[b]]));
const EOS = vocab.length; // 262
const tok = Tokenizer.fromBpe({
  vocab,
  merges,
  pretokenizer: "gpt2",
  specialTokens: { "<|endoftext|>": EOS },
});
const V = EOS + 1;
// the only tokens the test models ever emit: 10 of them, so all sequences can be enumerated
const SUPPORT = [A, B, SP, 256, 257, 258, 259, 260, 261, EOS];

function hash01(ids: number[], t: number): number {
  let h = 2166136261;
  for (const x of [...ids, 7777, t]) h = Math.imul(h ^ x, 16777619) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
  return (h >>> 8) / 16777216;
}

/** A model over SUPPORT with seeded pseudo-random logits per context; `canonicalOnly` puts no mass on other encodings. */
function fakeModel(canonicalOnly: boolean): TokenScorer & { tokenizer: Tokenizer } {
  const isCanonical = (seq: number[]) => tok.encode(tok.decode(seq)).join() === seq.join();
  return {
    config: { vocabSize: V },
    tokenizer: tok,
    logits(ids: number[]): Promise<Float32Array> {
      const out = new Float32Array(ids.length * V).fill(-Infinity);
      for (let i = 0; i < ids.length; i++) {
        const prefix = ids.slice(0, i + 1);
        for (const t of SUPPORT) {
          if (canonicalOnly && t !== EOS && !isCanonical([...prefix.slice(1), t])) continue;
          out[i * V + t] = 3 * hash01(prefix, t) - 1.5;
        }
      }
      return Promise.resolve(out);
    },
  };
}

/**
 * Brute force: every token sequence over SUPPORT of length n + 1 (or ended by the stop token),
 * its probability by the chain rule, bucketed by the byte after the prompt (or the end).
 */
async function bruteForce(lm: TokenScorer, prompt: Uint8Array): Promise<Float64Array> {
  const n = prompt.length, mass = new Float64Array(257);
  const walk = async (seq: number[], p: number): Promise<void> => {
    const ended = seq.at(-1) === EOS;
    if (ended || seq.length === n + 1) {
      const d = tok.decodeBytes(ended ? seq.slice(0, -1) : seq);
      for (let i = 0; i < Math.min(n, d.length); i++) if (d[i] !== prompt[i]) return;
      if (d.length > n) mass[d[n]] += p;
      else if (d.length === n && ended) mass[NEXT_BYTE_END] += p;
      return;
    }
    const logits = await lm.logits([EOS, ...seq]);
    const row = logits.subarray(seq.length * V);
    let z = 0;
    for (const t of SUPPORT) z += Math.exp(row[t]);
    for (const t of SUPPORT) {
      const q = Math.exp(row[t]) / z;
      if (q > 0) await walk([...seq, t], p * q);
    }
  };
  await walk([], 1);
  return mass;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function normalised(m: Float64Array): Float64Array {
  const s = m.reduce((x, y) => x + y, 0);
  return m.map((x) => x / s);
}

const PROMPTS = ["", "a", "ab", " a", "ba", "a a", "aab", " ab"];

Deno.test("nextByteDistribution (all encodings) equals brute-force enumeration of every token sequence", async () => {
  const lm = fakeModel(false);
  for (const text of PROMPTS) {
    const x = enc.encode(text);
    const brute = await bruteForce(lm, x);
    const d = await nextByteDistribution(lm, x, { encodings: "all" });
    const diff = maxDiff(d.probabilities, normalised(brute));
    ok(diff < 1e-9, `"${text}": max |exact − brute force| = ${diff}`);
    // the masses are P(x·b) and P(x, end) themselves, and they sum to P(x)
    const total = brute.reduce((a, b) => a + b, 0);
    ok(
      Math.abs(Math.exp(d.logPrefix) - total) < 1e-9,
      `"${text}": P(x) ${Math.exp(d.logPrefix)} vs ${total}`,
    );
    ok(maxDiff(d.logMass.map(Math.exp), brute) < 1e-9);
    if (text.length > 0) {
      ok(
        Math.abs((await bytePrefixLogProbability(lm, x, { encodings: "all" })) - Math.log(total)) <
          1e-9,
      );
    }
  }
});

Deno.test("nextByteDistribution (canonical) equals brute force for a model that only emits canonical encodings, and differs for one that does not", async () => {
  const canon = fakeModel(true), any = fakeModel(false);
  let largest = 0;
  for (const text of PROMPTS) {
    const x = enc.encode(text);
    const brute = normalised(await bruteForce(canon, x));
    const d = await nextByteDistribution(canon, x);
    ok(maxDiff(d.probabilities, brute) < 1e-9, `"${text}": ${maxDiff(d.probabilities, brute)}`);
    // canonical covers only: at most (longest token + 1) model calls
    ok(d.modelCalls <= 4, `${d.modelCalls} calls`);
    const dAny = await nextByteDistribution(any, x);
    largest = Math.max(largest, maxDiff(dAny.probabilities, normalised(await bruteForce(any, x))));
  }
  ok(
    largest > 0.01,
    `the canonical restriction should matter for a model with other encodings (${largest})`,
  );
});

/** P(seq) by the chain rule under the test model (after the stop-token context). */
async function seqProb(lm: TokenScorer, seq: number[]): Promise<number> {
  const logits = await lm.logits([EOS, ...seq]);
  let p = 1;
  for (let i = 0; i < seq.length; i++) {
    const row = logits.subarray(i * V, (i + 1) * V);
    let z = 0;
    for (const t of SUPPORT) z += Math.exp(row[t]);
    p *= Math.exp(row[seq[i]]) / z;
  }
  return p;
}

Deno.test("nextByteDistribution (canonical) on a model with other encodings: the sum over canonical covers, enumerated", async () => {
  const lm = fakeModel(false);
  const isCanonical = (seq: number[]) => tok.encode(tok.decode(seq)).join() === seq.join();
  const body = SUPPORT.filter((t) => t !== EOS);
  for (const text of ["a", "ab", " a", "a a"]) {
    const x = enc.encode(text), n = x.length, mass = new Float64Array(257);
    // every sequence of up to n + 1 tokens: a cover of x·b when all but its last token stay
    // inside x and its bytes start with x·b; an exact encoding of x followed by the end
    const all: number[][] = [[]];
    for (let len = 1; len <= n + 1; len++) {
      for (const s of all.filter((q) => q.length === len - 1)) {
        for (const t of body) all.push([...s, t]);
      }
    }
    for (const seq of all) {
      if (seq.length === 0 || !isCanonical(seq)) continue;
      const d = tok.decodeBytes(seq), before = tok.decodeBytes(seq.slice(0, -1)).length;
      let starts = d.length >= n;
      for (let i = 0; i < n && starts; i++) starts = d[i] === x[i];
      if (!starts) continue;
      if (d.length > n && before <= n) mass[d[n]] += await seqProb(lm, seq);
      if (d.length === n) {
        const l = await lm.logits([EOS, ...seq]);
        const row = l.subarray(seq.length * V);
        let z = 0;
        for (const t of SUPPORT) z += Math.exp(row[t]);
        mass[NEXT_BYTE_END] += (await seqProb(lm, seq)) * Math.exp(row[EOS]) / z;
      }
    }
    const d = await nextByteDistribution(lm, x);
    ok(
      maxDiff(d.probabilities, normalised(mass)) < 1e-9,
      `"${text}": ${maxDiff(d.probabilities, normalised(mass))}`,
    );
    ok(maxDiff(d.logMass.map(Math.exp), mass) < 1e-9);
  }
});

Deno.test("naive and token-healing readings on the test model, from their definitions", async () => {
  const lm = fakeModel(false);
  const x = enc.encode("a a"); // encodes as [a][ a]: ends inside the token " ab"
  const ids = Array.from(tok.encode("a a"));
  equal(ids.join(), [A, 259].join());
  const softmax = async (ctx: number[]) => {
    const l = await lm.logits([EOS, ...ctx]);
    const row = Array.from(l.subarray(ctx.length * V));
    const z = row.reduce((s, v) => s + Math.exp(v), 0);
    return row.map((v) => Math.exp(v) / z);
  };
  // naive: first bytes of the next token after [a][ a]
  const p = await softmax(ids), want = new Float64Array(257);
  for (const t of SUPPORT) want[t === EOS ? NEXT_BYTE_END : tok.tokenBytes(t)[0]] += p[t];
  const naive = await naiveNextByteDistribution(lm, x);
  ok(maxDiff(naive.probabilities, want) < 1e-12);
  // healing: back off " a"; the next token must start with " a": " a" itself or " ab"
  const q = await softmax([A]), after = await softmax([A, 259]);
  const z = q[259] + q[261], heal = new Float64Array(257);
  heal[B] += q[261] / z;
  for (const t of SUPPORT) {
    heal[t === EOS ? NEXT_BYTE_END : tok.tokenBytes(t)[0]] += (q[259] / z) * after[t];
  }
  const healed = await tokenHealingNextByteDistribution(lm, x);
  ok(maxDiff(healed.probabilities, heal) < 1e-12);
  // the three readings differ here (the tokenization bias the exact one removes)
  const exact = await nextByteDistribution(lm, x, { encodings: "all" });
  ok(maxDiff(exact.probabilities, naive.probabilities) > 0.01);
  ok(maxDiff(exact.probabilities, healed.probabilities) > 0.01);
});

Deno.test("nextByteDistribution on tiny-draft: all encodings vs a brute-force walk over its whole vocabulary; KV-cache path = plain logits", async () => {
  const model = await loadModel(bundledModelPath("tiny-draft"));
  const mt = model.tokenizer as Tokenizer;
  const Vm = model.config.vocabSize, eos = mt.specialTokens["<|endoftext|>"];
  const x = enc.encode("The");
  // brute force: every token sequence whose bytes stay inside x until one token passes its end
  const mass = new Float64Array(257);
  const walk = async (seq: number[], d: Uint8Array, p: number): Promise<void> => {
    const l = await model.logits([eos, ...seq]);
    const row = Array.from(l.subarray(seq.length * Vm));
    const m = Math.max(...row);
    const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
    for (let t = 0; t < Vm; t++) {
      const q = Math.exp(row[t] - m) / z;
      if (t === eos) {
        if (d.length === x.length) mass[NEXT_BYTE_END] += p * q;
        continue;
      }
      const b = mt.tokenBytes(t), e = new Uint8Array([...d, ...b]);
      let fits = true;
      for (let i = 0; i < Math.min(e.length, x.length); i++) if (e[i] !== x[i]) fits = false;
      if (!fits) continue;
      if (e.length > x.length) mass[e[x.length]] += p * q;
      else await walk([...seq, t], e, p * q);
    }
  };
  await walk([], new Uint8Array(0), 1);
  const d = await nextByteDistribution(model, x, { encodings: "all" });
  ok(
    maxDiff(d.probabilities, normalised(mass)) < 1e-9,
    `${maxDiff(d.probabilities, normalised(mass))}`,
  );
  // the cached scorer (Model) and a plain logits() scorer agree
  const plain = { config: model.config, logits: (ids: number[]) => model.logits(ids) };
  for (const text of ["The jury sa", "in the mor", " said"]) {
    const a = await nextByteDistribution(model, enc.encode(text));
    const b = await nextByteDistribution(plain, enc.encode(text), { tokenizer: mt });
    ok(maxDiff(a.probabilities, b.probabilities) < 1e-9);
    ok(Math.abs(a.logPrefix - b.logPrefix) < 1e-6);
    // checking canonical covers after the last space changes nothing for this tokenizer
    const whole = await nextByteDistribution(model, enc.encode(text), { splitAtSpaces: false });
    ok(maxDiff(a.probabilities, whole.probabilities) < 1e-12);
  }
});

Deno.test("nextByteDistribution (canonical) on tiny-draft: the mass of x·b is P(x·b) computed on its own", async () => {
  const model = await loadModel(bundledModelPath("tiny-draft"));
  const x = enc.encode("in the mor");
  const d = await nextByteDistribution(model, x);
  const order = Array.from(d.probabilities.keys()).sort((a, b) =>
    d.probabilities[b] - d.probabilities[a]
  );
  for (const b of order.slice(0, 4).filter((o) => o !== NEXT_BYTE_END)) {
    const lp = await bytePrefixLogProbability(model, new Uint8Array([...x, b]));
    ok(Math.abs(lp - d.logMass[b]) < 1e-6, `byte ${b}: ${lp} vs ${d.logMass[b]}`);
  }
  ok(Math.abs((await bytePrefixLogProbability(model, x)) - d.logPrefix) < 1e-9);
  ok(
    d.probabilities.every((p) => p >= 0) && Math.abs(
          d.probabilities.reduce((a, b) => a + b, 0) - 1,
        ) < 1e-9,
  );
});

Deno.test("byte probabilities: bad inputs are refused with a hint", async () => {
  const lm = fakeModel(false);
  await rejects(() => nextByteDistribution(lm, "ab" as never), /Uint8Array/);
  await rejects(
    () => nextByteDistribution(lm, enc.encode("a"), { encodings: "some" as never }),
    TokenlabError,
  );
  await rejects(() => nextByteDistribution(lm, enc.encode("a"), { contextIds: [] }), /contextIds/);
  await rejects(
    () => nextByteDistribution(lm, enc.encode("abababab"), { encodings: "all", maxEncodings: 5 }),
    /maxEncodings/,
  );
  await rejects(
    () => nextByteDistribution({ config: { vocabSize: V }, logits: lm.logits }, enc.encode("a")),
    /Tokenizer/,
  );
});
