// The bitsandbytes 4-bit checkpoint layout: a file bitsandbytes wrote (Linear4bit state dicts,
// tests/fixtures/quant/bnb_reference.safetensors) loads with the right shapes and decodes to
// its inputs within the error bound; writing it back reproduces every tensor byte for byte
// (the quant-state JSON included); our own files load back; corrupt or inconsistent quant
// state is refused with the cause.
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  dequantize,
  loadBnb4bit,
  parseBnb4bit,
  quantize,
  type QuantizedTensor,
  saveBnb4bit,
  serializeBnb4bit,
} from "../../lib/quant/mod.ts";
import { parseSafetensors, readSafetensors } from "../../lib/models/safetensors.ts";
import {
  parseRawSafetensors,
  type RawTensor,
  serializeRawSafetensors,
} from "../../lib/quant/_safetensors.ts";
import { pyFloat } from "../../lib/quant/_py_float.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { Rng } from "../../lib/util/rng.ts";

const PATH = new URL("../fixtures/quant/bnb_reference.safetensors", import.meta.url).pathname;

Deno.test("a bitsandbytes file: every 4-bit weight, its shape, format, blocks and nesting", async () => {
  const q = await loadBnb4bit(PATH);
  deepEqual([...q.keys()].sort(), ["fp4.weight", "fp4dq.weight", "nf4b32.weight", "nf4dq.weight"]);
  const nf4dq = q.get("nf4dq.weight")!;
  deepEqual(nf4dq.shape, [130, 129]);
  equal(nf4dq.format, "nf4");
  equal(nf4dq.blockSize, 64);
  equal(nf4dq.dtype, "float32");
  equal(nf4dq.codes.length, 8385);
  equal(nf4dq.nested!.codes.length, 263);
  equal(nf4dq.nested!.absmax.length, 2);
  equal(nf4dq.nested!.blockSize, 256);
  const fp4 = q.get("fp4.weight")!;
  equal(fp4.format, "fp4");
  equal(fp4.blockSize, 128);
  equal(fp4.nested, undefined);
  equal(q.get("nf4b32.weight")!.blockSize, 32);
});

Deno.test("a bitsandbytes file decodes to its float32 inputs within the per-block bound", async () => {
  const inputs = (await readSafetensors(PATH)).tensors;
  const q = await loadBnb4bit(PATH);
  const pairs = [["nf4dq", "big"], ["fp4", "small"], ["nf4b32", "b32"], ["fp4dq", "small"]];
  for (const [key, inp] of pairs) {
    const t = q.get(`${key}.weight`)!;
    const x = inputs.get(`input.${inp}`)!.data as Float32Array;
    const d = dequantize(t);
    // half the largest codebook gap: nf4 −1 → −0.696, fp4 8/12 → 12/12
    const halfGap = t.format === "nf4" ? (1 - 0.6961928) / 2 : (1 - 8 / 12) / 2;
    for (let b = 0; b * t.blockSize < x.length; b++) {
      const block = x.subarray(b * t.blockSize, (b + 1) * t.blockSize);
      const exact = Math.max(...block.map(Math.abs));
      if (!t.nested) equal(t.absmax[b], exact);
      // |c·a' − x| ≤ |c|·|a' − a| + |c·a − x| for the decoded absmax a' and |c| ≤ 1
      const bound = Math.abs(t.absmax[b] - exact) + halfGap * exact * (1 + 1e-5);
      block.forEach((v, i) =>
        ok(Math.abs(d[b * t.blockSize + i] - v) <= bound, `${key}[${b}, ${i}]`)
      );
    }
  }
});

Deno.test("writing a bitsandbytes file back reproduces every tensor byte for byte", async () => {
  const original = parseRawSafetensors(await Deno.readFile(PATH), PATH).tensors;
  const written = parseRawSafetensors(serializeBnb4bit(await loadBnb4bit(PATH)), "written").tensors;
  let compared = 0;
  for (const [key, t] of original) {
    if (key.startsWith("input.") || key.startsWith("int8") || key.endsWith(".bias")) continue;
    const w = written.get(key);
    ok(w, `missing ${key}`);
    equal(w.dtype, t.dtype, key);
    deepEqual(w.shape, t.shape, key);
    deepEqual(w.bytes, t.bytes, key);
    compared++;
  }
  equal(compared, written.size);
  equal(compared, 20); // 6 + 4 + 4 + 6 tensors for the four weights
  const state = new TextDecoder().decode(
    written.get("nf4dq.weight.quant_state.bitsandbytes__nf4")!.bytes,
  );
  ok(
    state.startsWith(
      '{"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [130, 129], ',
    ),
  );
});

Deno.test("our quantised tensors save and load back unchanged; the models reader reads the file", async () => {
  const rng = new Rng(8);
  const x = Float32Array.from({ length: 48 * 33 }, () => 0.02 * rng.normal());
  const tensors = new Map<string, QuantizedTensor>([
    [
      "a.weight",
      quantize(x, { format: "nf4", shape: [48, 33], doubleQuant: true, dtype: "bfloat16" }),
    ],
    ["b.weight", quantize(x, { format: "fp4", shape: [33, 48], blockSize: 256 })],
    ["c.weight", quantize(x.subarray(0, 7), { format: "nf4", blockSize: 32 })],
  ]);
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    await saveBnb4bit(tensors, path);
    const back = await loadBnb4bit(path);
    equal(back.size, 3);
    for (const [k, q] of tensors) {
      const b = back.get(k)!;
      deepEqual(b.shape, q.shape, k);
      deepEqual(b.codes, q.codes, k);
      deepEqual(b.absmax, q.absmax, k);
      deepEqual(b.nested, q.nested, k);
      equal(b.dtype, q.dtype);
      deepEqual(dequantize(b), dequantize(q), k);
    }
    const plain = await readSafetensors(path);
    equal(plain.tensors.get("a.weight")!.dtype, "U8");
    deepEqual(plain.tensors.get("a.weight")!.shape, [792, 1]);
    equal(plain.metadata.format, "pt");
  } finally {
    await Deno.remove(path);
  }
  throws(
    () => serializeBnb4bit(new Map([["w", quantize(x, { format: "int8-blockwise" })]])),
    /not a 4-bit format/,
  );
  await rejects(() => loadBnb4bit("/nonexistent/q.safetensors"), TokenlabError);
});

Deno.test("dense f32 tensors go into the same file beside the 4-bit ones; clashes are refused", () => {
  const q = quantize(Float32Array.of(0.5, -0.25, 1, 0), { format: "nf4", shape: [2, 2] });
  const norm = { shape: [3], data: Float32Array.of(1, 2, 3) };
  const bytes = serializeBnb4bit(new Map([["l.weight", q]]), {
    dense: new Map([["norm.weight", norm]]),
  });
  const file = parseSafetensors(bytes);
  equal(file.tensors.get("norm.weight")!.dtype, "F32");
  deepEqual(file.tensors.get("norm.weight")!.data, norm.data);
  deepEqual(parseBnb4bit(bytes).get("l.weight")!.codes, q.codes);
  throws(
    () =>
      serializeBnb4bit(new Map([["l.weight", q]]), {
        dense: new Map([["l.weight.absmax", norm]]),
      }),
    /name of a quantised weight/,
  );
  throws(
    () => serializeBnb4bit(new Map(), { dense: new Map([["x", { shape: [2], data: norm.data }]]) }),
    /3 values but shape \[2\]/,
  );
});

Deno.test("nested_offset is written as Python's repr", () => {
  // python3 -c "print(repr(x))" for each
  const cases: [number, string][] = [
    [1e-5, "1e-05"],
    [0.0001, "0.0001"],
    [2, "2.0"],
    [1e16, "1e+16"],
    [123.456, "123.456"],
    [-0.5, "-0.5"],
    [1.5e-7, "1.5e-07"],
    [2.5289859771728516, "2.5289859771728516"],
    [1234567890123456, "1234567890123456.0"],
    [0.00012345, "0.00012345"],
    [0, "0.0"],
  ];
  for (const [x, want] of cases) equal(pyFloat(x), want);
});

/** The fixture's tensors of one weight, edited by `edit`, serialised again. */
function variant(edit: (t: Map<string, RawTensor>) => void): Uint8Array {
  const all = parseRawSafetensors(Deno.readFileSync(PATH), PATH).tensors;
  const t = new Map([...all].filter(([k]) => k.startsWith("nf4dq.") || k.startsWith("fp4.")));
  edit(t);
  return serializeRawSafetensors(t);
}

function json(obj: unknown): RawTensor {
  const bytes = new TextEncoder().encode(JSON.stringify(obj));
  return { dtype: "U8", shape: [bytes.length], bytes };
}

const STATE = "nf4dq.weight.quant_state.bitsandbytes__nf4";
const GOOD = {
  quant_type: "nf4",
  blocksize: 64,
  dtype: "float32",
  shape: [130, 129],
  nested_blocksize: 256,
  nested_dtype: "float32",
  nested_offset: 0.05,
};

Deno.test("corrupt or inconsistent quant state is refused, naming the cause", () => {
  ok(
    parseBnb4bit(variant((t) => t.set(STATE, json(GOOD)))).size === 2,
    "the edited baseline loads",
  );
  const cases: [string, (t: Map<string, RawTensor>) => void, RegExp][] = [
    ["unknown quant type", (t) => {
      t.set("nf4dq.weight.quant_state.bitsandbytes__int4", t.get(STATE)!);
      t.delete(STATE);
    }, /unknown quant type "int4"/],
    ["type mismatch", (t) => t.set(STATE, json({ ...GOOD, quant_type: "fp4" })), /does not match/],
    ["blocksize 16", (t) => t.set(STATE, json({ ...GOOD, blocksize: 16 })), /power of two/],
    ["blocksize 8192", (t) => t.set(STATE, json({ ...GOOD, blocksize: 8192 })), /power of two/],
    [
      "shape too large",
      (t) => t.set(STATE, json({ ...GOOD, shape: [131, 129] })),
      /packed weight has 8385 bytes/,
    ],
    ["bad shape", (t) => t.set(STATE, json({ ...GOOD, shape: "130x129" })), /shape/],
    ["unknown dtype", (t) => t.set(STATE, json({ ...GOOD, dtype: "float64" })), /unknown dtype/],
    ["no offset", (t) => {
      const { nested_offset: _, ...rest } = GOOD;
      t.set(STATE, json(rest));
    }, /nested_offset/],
    [
      "bad offset",
      (t) => t.set(STATE, json({ ...GOOD, nested_offset: "x" })),
      /not a finite number/,
    ],
    [
      "not JSON",
      (t) => t.set(STATE, { dtype: "U8", shape: [3], bytes: Uint8Array.of(123, 34, 255) }),
      /not UTF-8 JSON/,
    ],
    ["absmax short", (t) => {
      const a = t.get("nf4dq.weight.absmax")!;
      t.set("nf4dq.weight.absmax", { ...a, shape: [262], bytes: a.bytes.subarray(1) });
    }, /absmax has 262 values for 263 blocks/],
    ["absmax as F32 when nested", (t) => {
      t.set("nf4dq.weight.absmax", { dtype: "F32", shape: [263], bytes: new Uint8Array(263 * 4) });
    }, /is F32, expected U8/],
    ["nested absmax short", (t) => {
      t.set("nf4dq.weight.nested_absmax", { dtype: "F32", shape: [1], bytes: new Uint8Array(4) });
    }, /nested_absmax has 1 values for 2 nested blocks/],
    [
      "nested map missing",
      (t) => t.delete("nf4dq.weight.nested_quant_map"),
      /double quantisation needs/,
    ],
    ["wrong quant_map", (t) => {
      t.set("nf4dq.weight.quant_map", { dtype: "F32", shape: [16], bytes: new Uint8Array(64) });
    }, /not bitsandbytes' nf4 codebook/],
    ["wrong nested map", (t) => {
      t.set("nf4dq.weight.nested_quant_map", {
        dtype: "F32",
        shape: [256],
        bytes: new Uint8Array(1024),
      });
    }, /not bitsandbytes' dynamic map/],
    ["packed weight missing", (t) => t.delete("nf4dq.weight"), /missing the packed weight/],
    [
      "orphan absmax",
      (t) => t.delete("fp4.weight.quant_state.bitsandbytes__fp4"),
      /no quant_state entry/,
    ],
    ["two quant states", (t) => {
      t.set("nf4dq.weight.quant_state.bitsandbytes__fp4", json({ ...GOOD, quant_type: "fp4" }));
    }, /more than one quant_state/],
    [
      "fp4 absmax missing",
      (t) => t.delete("fp4.weight.absmax"),
      /missing tensor "fp4.weight.absmax"/,
    ],
  ];
  for (const [what, edit, want] of cases) {
    const bytes = variant((t) => {
      t.set(STATE, json(GOOD));
      edit(t);
    });
    throws(() => parseBnb4bit(bytes, "edited.safetensors"), (e: unknown) => {
      ok(e instanceof TokenlabError, what);
      ok(want.test(e.message), `${what}: ${e.message}`);
      ok(e.message.startsWith("edited.safetensors"), what);
      return true;
    });
  }
  // not a safetensors file at all
  throws(() => parseBnb4bit(new Uint8Array(4), "tiny"), /too short/);
  ok(parseSafetensors(variant(() => {})).tensors.size > 0);
});
