// JSON Schema grammars checked against an independent validator, ajv (with ajv-formats): every
// document tiny-target generates under a schema validates, hand-written valid documents (other
// property orders, whitespace, escapes, edge numbers) are accepted token by token to the end,
// and invalid ones are refused at some token. Expected validity always comes from ajv.

import { deepEqual, equal, ok } from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { compileGrammar, constrainedGenerate } from "../../lib/decoding/mod.ts";
import type { CompiledGrammar } from "../../lib/decoding/mod.ts";
import { bundledModelPath, loadModel } from "../../lib/models/mod.ts";
import type { Tokenizer } from "../../lib/tokenizers/mod.ts";
import { trainBpe } from "../../lib/tokenizers/mod.ts";
import { Rng } from "../../lib/util/rng.ts";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
addFormats(ajv);
const enc = new TextEncoder();

function ajvValid(schema: Record<string, unknown>, doc: string): boolean {
  const v = ajv.compile(schema);
  return v(JSON.parse(doc)) as boolean;
}

function bit(mask: Uint32Array, t: number): boolean {
  return ((mask[t >>> 5] >>> (t & 31)) & 1) === 1;
}

/** Feeds a document token by token: each token must be in the mask and accepted. */
function acceptsTokens(g: CompiledGrammar, ids: ArrayLike<number>): { ok: boolean; at: number } {
  const m = g.matcher();
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (!bit(m.mask(), id)) return { ok: false, at: k };
    if (!m.accept(id)) throw new Error(`token ${k} is in the mask but accept refused it`);
  }
  return { ok: m.canTerminate(), at: ids.length };
}

// Schemas covering the keywords of issue 17 §1 that the grammar enforces exactly.
const SCHEMAS: Record<string, Record<string, unknown>> = {
  object: {
    type: "object",
    properties: {
      name: { type: "string", minLength: 1, maxLength: 6 },
      age: { type: "integer", minimum: 0, maximum: 120 },
      score: { type: "number", exclusiveMinimum: -9.5, maximum: 0.2 },
      tags: { type: "array", items: { enum: ["a", "b", 1.5, null] }, minItems: 1, maxItems: 3 },
      ok: { const: true },
    },
    required: ["name", "score"],
    additionalProperties: false,
  },
  array: {
    type: "array",
    prefixItems: [
      { type: "boolean" },
      { anyOf: [{ type: "integer", exclusiveMaximum: -3 }, { type: "string", maxLength: 3 }] },
    ],
    items: { oneOf: [{ type: "null" }, { type: "number", minimum: 2.25, exclusiveMaximum: 3 }] },
    minItems: 2,
    maxItems: 4,
  },
  tree: {
    $ref: "#/$defs/node",
    $defs: {
      node: {
        type: "object",
        properties: {
          v: { type: "integer", exclusiveMinimum: -5, maximum: 99 },
          kids: { type: "array", items: { $ref: "#/$defs/node" }, maxItems: 2 },
        },
        required: ["v"],
        additionalProperties: false,
      },
    },
  },
  formats: {
    type: "array",
    prefixItems: [
      { type: "string", format: "date" },
      { type: "string", format: "date-time" },
      { type: "string", format: "uuid" },
      { type: "string", format: "ipv4" },
    ],
    items: false,
    minItems: 4,
  },
  email: { type: "string", format: "email" },
  counts: {
    type: "object",
    properties: { a: { type: "null" }, b: { type: "boolean" }, c: { type: "integer" } },
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 2,
    dependentRequired: { a: ["b"] },
    dependencies: { c: ["b"] },
    allOf: [{ properties: { c: { minimum: 5 } } }],
  },
  patterns: {
    type: "object",
    properties: { id: { type: "integer", minimum: 1, maximum: 99 } },
    patternProperties: { "^x-[a-z]{1,4}$": { type: "string", maxLength: 3 } },
    required: ["id"],
    additionalProperties: false,
  },
  additional: {
    type: "object",
    properties: { k: { enum: [{ x: 1, y: [true] }, [1, "two"], "s", -0.5] } },
    required: ["k"],
    additionalProperties: { type: "number", minimum: -2, maximum: 2 },
  },
};

let tinyTok: Tokenizer | undefined;
const compiled = new Map<string, CompiledGrammar>();
function grammarFor(name: string, tok: Tokenizer, maxWhitespace?: number): CompiledGrammar {
  const key = `${name}:${tok === tinyTok ? "tiny" : "other"}:${maxWhitespace}`;
  let g = compiled.get(key);
  if (!g) {
    g = compileGrammar({ jsonSchema: SCHEMAS[name] }, tok, { warn: false, maxWhitespace });
    compiled.set(key, g);
  }
  return g;
}

Deno.test("documents tiny-target generates under JSON Schemas validate with ajv", async () => {
  const model = await loadModel(bundledModelPath("tiny-target"));
  const tok = model.tokenizer as Tokenizer;
  tinyTok = tok;
  let complete = 0;
  for (const name of Object.keys(SCHEMAS)) {
    // whitespace runs bounded: tiny-target, trained on prose, likes newlines
    const g = grammarFor(name, tok, 1);
    deepEqual(g.unenforced, [], `${name}: everything enforced`);
    let mine = 0;
    if (name === "email") continue; // no length bound: tiny-target never closes it (see below)
    const seeds = 4;
    for (let seed = 1; seed <= seeds; seed++) {
      const out = await constrainedGenerate(model, tok.encode("{"), {
        grammar: g,
        maxNewTokens: 160,
        temperature: 1,
        seed,
      });
      if (!out.complete) continue;
      const ids = out.ids.filter((t) => !g.stopTokens.includes(t));
      const doc = tok.decode(ids);
      ok(ajvValid(SCHEMAS[name], doc), `${name} seed ${seed}: ajv refuses ${doc}`);
      mine++;
    }
    // any other key is an unbounded string, pattern keys may come again and again:
    // tiny-target rarely closes those objects in time (the random walks below do)
    if (name !== "additional" && name !== "patterns") {
      ok(mine >= 1, `${name}: no complete document in ${seeds} seeds`);
    }
    complete += mine;
  }
  ok(complete >= 10, `only ${complete} complete documents`);
});

// Valid (by ajv) documents in other property orders, with whitespace and escapes, edge numbers.
const VALID: Array<[string, string]> = [
  ["object", '{"name": "Ada", "score": -9.49}'],
  ["object", '{"score":0.2,"name":"x"}'],
  [
    "object",
    ' {\n\t"tags" : [null, 1.5, "a"] ,\r\n "score": -0, "ok": true, "name": "\\u00e9t\\u00e9"}\n',
  ],
  ["object", '{"age": 120, "score": 2e-1, "name": "abcdef"}'],
  ["object", '{"age": 0.0, "score": -94E-1, "name": "a"}'],
  ["object", '{"age": 1.2e2, "score": -9.4999, "name": "a"}'],
  ["object", '{"name": "a", "score": 1e-3, "tags": ["b"]}'],
  ["object", '{"name": "a", "score": -0.00000001e8, "tags": [15e-1]}'],
  ["array", "[true, -4]"],
  ["array", '[false, "abc", null, 2.25]'],
  ["array", "[true, -40, 2.999, 22.5e-1]"],
  ["array", '[true,"",null,null]'],
  ["tree", '{"kids": [{"v": -4}, {"kids": [], "v": 99}], "v": 0}'],
  ["tree", '{"v": 5.0}'],
  [
    "formats",
    '["2024-02-29", "2023-12-31T23:59:60Z", "123E4567-e89b-12d3-a456-426614174000", "0.0.0.0"]',
  ],
  [
    "formats",
    '["1999-01-01", "2000-02-29 00:00:00.5+05:30", "urn:uuid:00000000-0000-0000-0000-000000000000", "255.255.255.255"]',
  ],
  [
    "formats",
    '["2001-11-30", "2001-11-30t10:00:00-0100", "ffffffff-ffff-ffff-ffff-ffffffffffff", "10.0.0.1"]',
  ],
  [
    "formats",
    '["2001-11-30", "2001-11-30T00:59:60+01", "ffffffff-ffff-ffff-ffff-ffffffffffff", "10.0.0.1"]',
  ],
  // escapes in format and pattern strings spell the same characters
  [
    "formats",
    String
      .raw`["\u0032024-02-29", "2023-12-31T23:59:60\u005A", "123e4567-e89b-12d3-a456-42661417400\u0030", "0.0.0.\u0030"]`,
  ],
  ["email", String.raw`"a\u0040b.co"`],
  ["patterns", String.raw`{"x-\u0061b": "\ud83d\ude00", "id": 1}`],
  ["email", '"a.b+c@example.com"'],
  ["email", '"X_Y@A-B.example.ORG"'],
  ["counts", '{"b": false}'],
  ["counts", '{"b": true, "a": null}'],
  ["counts", '{"c": 5, "b": true}'],
  ["counts", '{"c": 1e1, "b": true}'],
  ["counts", '{"c": 500E-2, "b": false}'],
  ["patterns", '{"x-ab": "q", "id": 1}'],
  ["patterns", '{"id": 2e0, "x-abcd": "", "x-z": "\\n"}'],
  ["additional", '{"k": {"y": [true], "x": 1.0}}'],
  ["additional", '{"zz": -2, "k": [1, "two"], "q": 2}'],
  ["additional", '{"k": -5e-1, "\\u006b2": 1.999}'],
  ["additional", '{"k": "s", "": -0.0}'],
];

const INVALID: Array<[string, string]> = [
  ["object", '{"name": "Ada", "score": -9.5}'], // exclusive minimum
  ["object", '{"name": "Ada", "score": 0.2000001}'],
  ["object", '{"name": "Ada", "score": 3e-1}'],
  ["object", '{"name": "", "score": 0}'], // minLength
  ["object", '{"name": "abcdefg", "score": 0}'], // maxLength
  ["object", '{"name": "a", "score": 0, "age": 121}'],
  ["object", '{"name": "a", "score": 0, "age": -1}'],
  ["object", '{"name": "a", "score": 0, "age": 1.5}'],
  ["object", '{"name": "a", "score": 0, "tags": []}'], // minItems
  ["object", '{"name": "a", "score": 0, "tags": ["a", "a", "a", "a"]}'], // maxItems
  ["object", '{"name": "a", "score": 0, "tags": [1.25]}'], // enum
  ["object", '{"name": "a", "score": 0, "ok": false}'], // const
  ["object", '{"name": "a"}'], // required
  ["object", '{"name": "a", "score": 0, "x": 1}'], // additionalProperties
  ["array", "[true]"], // minItems
  ["array", "[true, -3]"], // exclusiveMaximum
  ["array", '[true, "abcd"]'],
  ["array", "[true, 1, 3]"],
  ["array", "[true, 1, 2.2499]"],
  ["array", "[true, 1, null, null, null]"], // maxItems
  ["tree", '{"v": -5}'],
  ["tree", '{"v": 1, "kids": [{"v": 1}, {"v": 2}, {"v": 3}]}'],
  ["tree", '{"kids": []}'],
  [
    "formats",
    '["2023-02-29", "2023-12-31T23:59:60Z", "123e4567-e89b-12d3-a456-426614174000", "0.0.0.0"]',
  ],
  [
    "formats",
    '["2024-02-29", "2023-12-31T12:59:60Z", "123e4567-e89b-12d3-a456-426614174000", "0.0.0.0"]',
  ],
  [
    "formats",
    '["2024-02-29", "2023-12-31T12:00:00", "123e4567-e89b-12d3-a456-426614174000", "0.0.0.0"]',
  ],
  [
    "formats",
    '["2024-02-29", "2023-12-31T12:00:00Z", "123e4567-e89b-12d3-a456-42661417400", "0.0.0.0"]',
  ],
  [
    "formats",
    '["2024-02-29", "2023-12-31T12:00:00Z", "123e4567-e89b-12d3-a456-426614174000", "256.0.0.0"]',
  ],
  [
    "formats",
    '["2024-02-29", "2023-12-31T24:00:00Z", "123e4567-e89b-12d3-a456-426614174000", "1.1.1.1"]',
  ],
  [
    "formats",
    String
      .raw`["2023-02-2\u0039", "2023-12-31T23:59:60Z", "123e4567-e89b-12d3-a456-426614174000", "0.0.0.0"]`,
  ],
  ["patterns", String.raw`{"x-\u0041b": "q", "id": 1}`],
  ["email", '"a@b"'],
  ["email", '"a@-b.com"'],
  ["email", '"a..b@c.de"'],
  ["counts", "{}"], // minProperties
  ["counts", '{"a": null}'], // dependentRequired
  ["counts", '{"c": 7}'], // dependencies
  ["counts", '{"c": 4, "b": true}'], // allOf minimum
  ["counts", '{"a": null, "b": true, "c": 5}'], // maxProperties
  ["patterns", '{"id": 1, "x-Ab": "q"}'],
  ["patterns", '{"id": 1, "x-ab": "long"}'],
  ["patterns", '{"id": 1, "x-abcde": "q"}'],
  ["patterns", '{"id": 1, "y": "q"}'],
  ["patterns", '{"x-a": "q"}'],
  ["additional", '{"k": {"x": 1}}'],
  ["additional", '{"k": "s", "z": 2.01}'],
  ["additional", '{"k": "s", "z": "2"}'],
  ["additional", '{"z": 1}'],
];

Deno.test("valid documents (by ajv) are accepted token by token; invalid ones refused", async () => {
  const byteTok = trainBpe('{"": [1.5, -2e3, true, null]}', { vocabSize: 300 });
  const toks: Tokenizer[] = [byteTok];
  if (tinyTok) toks.push(tinyTok);
  else toks.push((await loadModel(bundledModelPath("tiny-target"))).tokenizer as Tokenizer);
  for (const [name, doc] of VALID) {
    ok(ajvValid(SCHEMAS[name], doc), `fixture ${name} ${doc} should be valid by ajv`);
    for (const tok of toks) {
      const r = acceptsTokens(grammarFor(name, tok), tok.encode(doc));
      ok(r.ok, `${name}: valid ${doc} refused at token ${r.at}`);
    }
  }
  for (const [name, doc] of INVALID) {
    equal(ajvValid(SCHEMAS[name], doc), false, `fixture ${name} ${doc} should be invalid by ajv`);
    for (const tok of toks) {
      const r = acceptsTokens(grammarFor(name, tok), tok.encode(doc));
      equal(r.ok, false, `${name}: invalid ${doc} accepted`);
    }
  }
});

// Random number spellings (exponents within ±8, where bounded numbers are exact) under bounds,
// the expected answer from ajv: XGrammar gets −9.5 and 0.2 wrong under such bounds.
Deno.test("number bounds agree with ajv on random spellings (non-integer, negative, exclusive)", () => {
  const tok = trainBpe("0123456789.-+eE", { vocabSize: 280 });
  const rng = new Rng(17);
  const digits = (n: number) => Array.from({ length: n }, () => rng.int(10)).join("");
  const spell = (): string => {
    let s = rng.next() < 0.45 ? "-" : "";
    const il = rng.int(3);
    s += il === 0 ? "0" : String(1 + rng.int(9)) + digits(il - 1);
    if (rng.next() < 0.6) s += "." + digits(1 + rng.int(3));
    if (rng.next() < 0.3) {
      s += "eE"[rng.int(2)] + ["", "+", "-"][rng.int(3)] + (rng.next() < 0.2 ? "0" : "") +
        rng.int(9);
    }
    return s;
  };
  const EDGE = [
    ...["-9.5", "0.2", "-10", "-10.17", "1e3", "-0", "0", "2e-1", "-95e-1", "0.20", "10"],
    ...["1.5e1", "10e-1", "-70e-1", "0.05e2", "5.000", "-1e1", "1.25e1", "7e0", "-0.0e-3"],
  ];
  const bounds: Array<Record<string, unknown>> = [
    { type: "number", minimum: -10 },
    { type: "number", minimum: -10, maximum: 0.2 },
    { type: "number", exclusiveMinimum: -9.5, exclusiveMaximum: 0.2 },
    { type: "number", exclusiveMinimum: 0 },
    { type: "number", maximum: -0.05 },
    { type: "number", minimum: 0.25, exclusiveMaximum: 10 },
    { type: "integer", minimum: -10, exclusiveMaximum: 7.5 },
    { type: "integer", minimum: 5 },
    { type: "integer" },
    { const: -2.5 },
    { enum: [0, 10, "x"] },
  ];
  let accepted = 0, total = 0;
  for (const schema of bounds) {
    const g = compileGrammar({ jsonSchema: schema }, tok, { warn: false });
    deepEqual(g.unenforced, []);
    const validate = ajv.compile(schema);
    const m = g.matcher();
    for (let k = 0; k < 400; k++) {
      const s = k < EDGE.length ? EDGE[k] : spell();
      m.reset();
      const got = m.acceptBytes(enc.encode(s)) && m.canTerminate();
      equal(got, validate(JSON.parse(s)), `${JSON.stringify(schema)}: ${s}`);
      if (got) accepted++;
      total++;
    }
  }
  ok(accepted > total / 5 && accepted < total * 0.8, `${accepted} of ${total} accepted`);
});

// Seeded random walks under the masks (uniform over the allowed tokens, heading for the end once
// past a length): every walk ends in a document ajv accepts.
Deno.test("random walks under the format, patternProperties and additionalProperties masks validate", () => {
  const tok = trainBpe('"a.b+c@example.com", "2024-02-29T23:59:60+00:00", {"x-a": 1}', {
    vocabSize: 300,
  });
  const rng = new Rng(5);
  // the bytes to head for past 12 steps, first found first: the end, else an email's @ and .
  // (a token that lets the document end comes before all of them)
  const STRING_END = [0x22, 0x5d, 0x40, 0x2e], OBJECT_END = [0x22, 0x3a, 0x2c];
  const cases: Array<[Record<string, unknown>, number[]]> = [
    [SCHEMAS.email, STRING_END],
    [SCHEMAS.formats, STRING_END],
    [SCHEMAS.patterns, OBJECT_END],
    [{ ...SCHEMAS.additional, required: [] }, OBJECT_END], // a random key is rarely "k"
  ];
  for (const [schema, heads] of cases) {
    const g = compileGrammar({ jsonSchema: schema }, tok, { warn: false });
    for (let w = 0; w < 15; w++) {
      const m = g.matcher();
      const ids: number[] = [];
      for (let step = 0; step < 200 && !m.canTerminate(); step++) {
        const mask = m.mask();
        const allowed: number[] = [];
        for (let t = 0; t < g.idSpace; t++) if (bit(mask, t)) allowed.push(t);
        let pool = allowed;
        const ending = step > 12
          ? allowed.filter((t) => {
            m.accept(t);
            const can = m.canTerminate();
            m.rollback(1);
            return can;
          })
          : [];
        if (ending.length) pool = ending;
        for (const c of step > 12 && !ending.length ? heads : []) {
          const has = allowed.filter((t) => tok.tokenBytes(t).includes(c));
          if (has.length) {
            pool = has;
            break;
          }
        }
        const id = pool[rng.int(pool.length)];
        ok(m.accept(id));
        ids.push(id);
      }
      const doc = tok.decode(ids);
      ok(m.canTerminate(), `the walk ended: ${doc}`);
      ok(ajvValid(schema, doc), `ajv refuses ${doc}`);
    }
  }
});

Deno.test("patternProperties beside additionalProperties other than false: listed, valid kept", () => {
  const tok = trainBpe('{"ab": 1, "c": "x"}', { vocabSize: 280 });
  const schema = {
    type: "object",
    patternProperties: { "^a": { type: "integer" } },
    additionalProperties: { type: "string" },
  };
  const g = compileGrammar({ jsonSchema: schema }, tok, { warn: false });
  deepEqual(g.unenforced, ["#: patternProperties beside additionalProperties other than false"]);
  for (const doc of ['{"ab": 1, "c": "x"}', '{"a": -2}', '{"c": "x", "ba": "y"}', "{}"]) {
    ok(ajvValid(schema, doc), doc);
    ok(acceptsTokens(g, tok.encode(doc)).ok, `valid ${doc} refused`);
  }
  // a key no pattern matches still takes the additional schema
  equal(ajvValid(schema, '{"c": 1}'), false);
  equal(acceptsTokens(g, tok.encode('{"c": 1}')).ok, false);
});

Deno.test("not JSON at all is refused: raw control characters, surrogate bytes, long whitespace", () => {
  const tok = trainBpe('{"name": "a b", "score": 0}', { vocabSize: 280 });
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const g = grammarFor("object", tok);
  const bad: Uint8Array[] = [
    enc.encode('{"name": "a\tb", "score": 0}'), // a raw tab in a length-bounded string
    enc.encode('{"name": "a\u0001", "score": 0}'),
    Uint8Array.from([
      ...enc.encode('{"name": "a'),
      0xed,
      0xa0,
      0x80,
      ...enc.encode('", "score": 0}'),
    ]),
    Uint8Array.from([...enc.encode('{"name": "a'), 0xc0, 0xaf, ...enc.encode('", "score": 0}')]),
    enc.encode('{"name": "a", "score": 01}'),
    enc.encode('{"name": "a", "score": .5}'),
    enc.encode('{"name": "a", "score": -}'),
    enc.encode('{"name": "a", "score": 1e}'),
  ];
  for (const bytes of bad) {
    // the oracle: the platform's strict UTF-8 decoder and JSON.parse
    let parses = true;
    try {
      JSON.parse(fatal.decode(bytes));
    } catch {
      parses = false;
    }
    equal(parses, false, String.fromCharCode(...bytes));
    const m = g.matcher();
    equal(m.acceptBytes(bytes) && m.canTerminate(), false, String.fromCharCode(...bytes));
  }
  // maxWhitespace bounds every run, around the root value too
  const w = grammarFor("array", tok, 1);
  for (
    const [doc, valid] of [["[true, -4]", true], ["[true,  -4]", false], [" [true,-4]\n", true], [
      "  [true,-4]",
      false,
    ]] as const
  ) {
    const m = w.matcher();
    equal(m.acceptBytes(enc.encode(doc)) && m.canTerminate(), valid, JSON.stringify(doc));
  }
});

Deno.test("unenforced keywords are printed once; malformed patternProperties refused with a pointer", () => {
  const tok = trainBpe("[1, 2]", { vocabSize: 260 });
  const warn = console.warn;
  const seen: string[] = [];
  console.warn = (msg: string) => seen.push(msg);
  try {
    const schema = { type: "array", uniqueItems: true, items: { multipleOf: 3 } };
    compileGrammar({ jsonSchema: schema }, tok);
    const again = compileGrammar({ jsonSchema: schema }, tok);
    deepEqual([...again.unenforced].sort(), ["#/items: multipleOf", "#: uniqueItems"]);
  } finally {
    console.warn = warn;
  }
  equal(seen.length, 1);
  ok(seen[0].includes("uniqueItems") && seen[0].includes("multipleOf"), seen[0]);
  let msg = "";
  try {
    compileGrammar({ jsonSchema: { properties: { a: { patternProperties: { "([": {} } } } } }, tok);
  } catch (e) {
    msg = (e as Error).message;
  }
  ok(/#\/properties\/a\/patternProperties\/\(\[: invalid regular expression/.test(msg), msg);
});

// The new grammar shapes (number ranges with exponents, \u escapes in patterns, pattern keys)
// under the mask machinery: each mask equals trying every id with accept().
Deno.test("masks equal the naive check on the ajv schemas (small vocabulary, random walks)", () => {
  const tok = trainBpe(
    '{"name": "Ada", "score": -9.5e-1, "x-ab": "\\u0041", "tags": [1.5]} ["2024-02-29T23:59:60Z"]',
    { vocabSize: 320 },
  );
  const rng = new Rng(78);
  let checked = 0;
  for (const name of ["object", "array", "formats", "patterns", "counts"]) {
    const g = grammarFor(name, tok);
    for (let w = 0; w < 3; w++) {
      const m = g.matcher();
      for (let step = 0; step < 30; step++) {
        const mask = m.mask();
        const naive = new Uint32Array(mask.length);
        const allowed: number[] = [];
        for (let t = 0; t < g.idSpace; t++) {
          if (m.allows(t)) {
            naive[t >>> 5] |= 1 << (t & 31);
            if (!g.stopTokens.includes(t)) allowed.push(t);
          }
        }
        deepEqual(mask, naive, `${name} walk ${w} step ${step}`);
        checked++;
        if (allowed.length === 0) break;
        ok(m.accept(allowed[rng.int(allowed.length)]));
      }
    }
  }
  ok(checked > 300, `${checked} masks`);
});
