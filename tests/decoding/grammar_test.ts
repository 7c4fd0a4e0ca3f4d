import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import {
  type CompiledGrammar,
  compileGrammar,
  constrainedGenerate,
  type GrammarMatcher,
  type GrammarSource,
  grammarTreeMasks,
} from "../../lib/decoding/mod.ts";
import { loadPretrained, Tokenizer, trainBpe } from "../../lib/tokenizers/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { loadModel } from "../../lib/models/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { validate } from "./_json_validator.ts";
import { naiveMask } from "../../lib/decoding/_naive_mask.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

// A corpus of JSON-ish and arithmetic text for a small trained vocabulary.
const CORPUS = [
  '{"name": "Ada", "kind": "a", "tags": ["x", "yy"], "point": [1.5, -2], "flag": true}',
  '{"tree": {"v": 1, "kids": [{"v": 2}, {"v": -30}]}, "when": "2024-02-29", "id": 42}',
  '[null, true, false, {"a": "b\\"c"}, "\\u00e9t\\u00e9", "naïve café"]',
  "(1 + 2) * 3 - 4 / (5.5 - -6) αβγ δεζ",
  '{"id": "123e4567-e89b-12d3-a456-426614174000", "extra": false}',
].join("\n").repeat(30);

let small: Tokenizer | undefined;
function smallTok(): Tokenizer {
  small ??= trainBpe(CORPUS, { vocabSize: 600, specialTokens: ["<|endoftext|>", "<|pad|>"] });
  return small;
}

function bit(mask: Uint32Array, t: number): boolean {
  return ((mask[t >>> 5] >>> (t & 31)) & 1) === 1;
}

function allowedIds(mask: Uint32Array, idSpace: number): number[] {
  const ids: number[] = [];
  for (let t = 0; t < idSpace; t++) if (bit(mask, t)) ids.push(t);
  return ids;
}

const CLOSERS = new Set([0x7d, 0x5d, 0x22, 0x29]); // } ] " )

// A seeded random walk under the masks; after `patience` steps it prefers closing tokens so
// many walks end. Checks every mask against the naive one when `checkNaive` says so.
function walk(
  g: CompiledGrammar,
  seed: number,
  opts: { steps: number; patience: number; checkNaive: (step: number) => boolean },
): { text: Uint8Array; complete: boolean; checked: number } {
  const rng = new Rng(seed);
  const m = g.matcher();
  const tok = g.tokenizer;
  const bytes: number[] = [];
  let checked = 0;
  for (let step = 0; step < opts.steps; step++) {
    const mask = m.mask();
    if (opts.checkNaive(step)) {
      deepEqual(
        mask,
        naiveMask(m, g.idSpace),
        `seed ${seed} step ${step}: mask differs from naive`,
      );
      checked++;
    }
    for (const s of Object.values(tok.specialTokens)) {
      equal(
        bit(mask, s),
        g.stopTokens.includes(s) && m.canTerminate(),
        `special ${s} at step ${step}`,
      );
    }
    const ids = allowedIds(mask, g.idSpace);
    if (ids.length === 0) {
      ok(m.canTerminate(), `seed ${seed} step ${step}: nothing allowed but cannot terminate`);
      return { text: Uint8Array.from(bytes), complete: true, checked };
    }
    const stop = ids.find((t) => g.stopTokens.includes(t));
    let pick: number;
    if (stop !== undefined && (step >= opts.patience || rng.next() < 0.2)) pick = stop;
    else {
      const normal = ids.filter((t) => !g.stopTokens.includes(t));
      const closing = normal.filter((t) => tok.tokenBytes(t).every((b) => CLOSERS.has(b)));
      const pool = step >= opts.patience && closing.length ? closing : normal.length ? normal : ids;
      pick = pool[rng.int(pool.length)];
    }
    ok(m.accept(pick), `seed ${seed} step ${step}: accept refused ${pick}, allowed by the mask`);
    if (m.isTerminated()) return { text: Uint8Array.from(bytes), complete: true, checked };
    bytes.push(...tok.tokenBytes(pick));
  }
  return { text: Uint8Array.from(bytes), complete: m.canTerminate(), checked };
}

const SCHEMA = {
  $defs: {
    node: {
      type: "object",
      properties: {
        v: { type: "integer", minimum: -40, exclusiveMaximum: 1000 },
        kids: { type: "array", items: { $ref: "#/$defs/node" }, maxItems: 2 },
      },
      required: ["v"],
      additionalProperties: false,
    },
  },
  type: "object",
  properties: {
    name: { type: "string", minLength: 1, maxLength: 8 },
    kind: { enum: ["a", 'b"c', 3, null] },
    tags: {
      type: "array",
      items: { type: "string", pattern: "^[a-z]+$" },
      minItems: 1,
      maxItems: 3,
    },
    point: { type: "array", prefixItems: [{ type: "number" }, { type: "number" }], items: false },
    tree: { $ref: "#/$defs/node" },
    when: { type: "string", format: "date" },
    id: { anyOf: [{ type: "string", format: "uuid" }, { type: "integer" }] },
    flag: { const: true },
  },
  required: ["name", "kind"],
  additionalProperties: { type: "boolean" },
};

const ARITH = `
# arithmetic with recursion through parentheses
root   ::= expr
expr   ::= term (ws ("+" | "-") ws term)*
term   ::= factor (ws ("*" | "/") ws factor)*
factor ::= num | "(" ws expr ws ")" | "-" factor
num    ::= [0-9]+ ("." [0-9]+)?
ws     ::= [ ]{0,2}
`;

// An independent recogniser for ARITH.
function arithOk(s: string): boolean {
  let i = 0;
  const ws = () => {
    let n = 0;
    while (s[i] === " " && n < 2) i++, n++;
  };
  const num = (): boolean => {
    const m = /^[0-9]+(\.[0-9]+)?/.exec(s.slice(i));
    if (!m) return false;
    i += m[0].length;
    return true;
  };
  const factor = (): boolean => {
    if (s[i] === "(") {
      i++;
      ws();
      if (!expr()) return false;
      ws();
      if (s[i] !== ")") return false;
      i++;
      return true;
    }
    if (s[i] === "-") return i++, factor();
    return num();
  };
  const chain = (sub: () => boolean, ops: string): boolean => {
    if (!sub()) return false;
    while (true) {
      const save = i;
      ws();
      if (!ops.includes(s[i] ?? "?")) return i = save, true;
      i++;
      ws();
      if (!sub()) return false;
    }
  };
  const term = () => chain(factor, "*/");
  const expr = (): boolean => chain(term, "+-");
  return expr() && i === s.length;
}

// An adversarial vocabulary: every byte, then every substring (2–6 bytes) of the corpus lines,
// so tokens cross every rule boundary (`",`, `": [`, `1)*`, …).
let substr: Tokenizer | undefined;
function substringTok(): Tokenizer {
  substr ??= buildSubstringTok();
  return substr;
}

function buildSubstringTok(): Tokenizer {
  const seen = new Set<string>();
  const vocab: Uint8Array[] = Array.from({ length: 256 }, (_, b) => new Uint8Array([b]));
  for (const line of new Set(CORPUS.split("\n"))) {
    const b = enc.encode(line);
    for (let n = 2; n <= 6; n++) {
      for (let i = 0; i + n <= b.length; i++) {
        const piece = b.subarray(i, i + n);
        const key = piece.join(",");
        if (!seen.has(key)) seen.add(key), vocab.push(piece.slice());
      }
    }
  }
  return Tokenizer.fromTiktoken(vocab, {
    pattern: "gpt2",
    specialTokens: { "<|endoftext|>": vocab.length },
  });
}

for (
  const [vocabName, getTok] of [["trained BPE", smallTok], [
    "all substrings",
    substringTok,
  ]] as const
) {
  Deno.test(`masks equal the naive check on seeded random walks (${vocabName}; JSON, schema, EBNF)`, () => {
    const tok = getTok();
    const grammars: Array<[string, CompiledGrammar]> = [
      ["json", compileGrammar({ json: true }, tok)],
      ["schema", compileGrammar({ jsonSchema: SCHEMA }, tok)],
      ["arith", compileGrammar({ ebnf: ARITH }, tok)],
      ["greek", compileGrammar({ ebnf: 'root ::= [α-ω]{2,3} "!"? | "ab" root' }, tok)],
    ];
    let checked = 0, complete = 0;
    for (const [name, g] of grammars) {
      for (let seed = 1; seed <= 6; seed++) {
        const r = walk(g, seed * 7 + name.length, {
          steps: 80,
          patience: 30,
          checkNaive: () => true,
        });
        checked += r.checked;
        if (!r.complete) continue;
        complete++;
        const text = dec.decode(r.text);
        if (name === "json") JSON.parse(text);
        if (name === "schema") deepEqual(validate(SCHEMA, JSON.parse(text)), [], text);
        if (name === "arith") ok(arithOk(text), text);
        if (name === "greek") match(text, /^(ab)*[α-ω]{2,3}!?$/u);
      }
    }
    ok(checked > 300, `checked ${checked} states`);
    ok(complete >= 12, `only ${complete} walks completed`);
  });
}

Deno.test("precompute: the eager cache gives the lazy path's masks on seeded walks, both equal the naive check", () => {
  // two copies of one vocabulary, so the per-tokenizer caches are not shared by the two paths
  const lazyTok = buildSubstringTok(), eagerTok = buildSubstringTok();
  const sources: GrammarSource[] = [
    { json: true },
    { jsonSchema: SCHEMA },
    { ebnf: ARITH },
    { ebnf: 'root ::= [α-ω]{2,3} "!"? | "ab" root' },
  ];
  let checked = 0;
  for (const [k, src] of sources.entries()) {
    const lazy = compileGrammar(src, lazyTok, { precompute: false });
    const eager = compileGrammar(src, eagerTok, { precompute: true });
    // the eager compile walked every position; the lazy one none yet
    const pe = eager._pda(), pl = lazy._pda();
    ok(pe.positions().every((n) => pe.localOf([n + pe.nodeCount]).local), `${k}: eager cache`);
    ok(pl.positions().every((n) => !pl.localOf([n + pl.nodeCount]).local), `${k}: lazy cache`);
    for (let seed = 1; seed <= 4; seed++) {
      const rng = new Rng(seed * 13 + k);
      const me = eager.matcher(), ml = lazy.matcher();
      for (let step = 0; step < 60; step++) {
        const mask = me.mask();
        deepEqual(mask, ml.mask(), `${k} seed ${seed} step ${step}: eager vs lazy`);
        if (step % 2 === 0) {
          deepEqual(mask, naiveMask(me, eager.idSpace), `${k} seed ${seed} step ${step}: eager`);
          deepEqual(mask, naiveMask(ml, lazy.idSpace), `${k} seed ${seed} step ${step}: lazy`);
          checked++;
        }
        const ids = allowedIds(mask, eager.idSpace).filter((t) => !eager.stopTokens.includes(t));
        if (ids.length === 0) break;
        const pick = ids[rng.int(ids.length)];
        ok(me.accept(pick) && ml.accept(pick), `${k} seed ${seed} step ${step}: accept ${pick}`);
      }
    }
  }
  ok(checked > 200, `checked ${checked} states`);
});

Deno.test("masks equal the naive check on o200k (a few states)", async () => {
  const tok = await loadPretrained("o200k_base");
  const g = compileGrammar({ jsonSchema: SCHEMA }, tok);
  equal(g.stopTokens.length, 1);
  equal(g.stopTokens[0], 199999);
  const r = walk(g, 3, { steps: 25, patience: 12, checkNaive: (s) => s % 6 === 0 });
  equal(r.checked, 5);
  // <|endofprompt|> is never allowed; <|endoftext|> only at the end
  const m = g.matcher();
  ok(!bit(m.mask(), 200018) && !bit(m.mask(), 199999));
  for (const id of tok.encode('{"name": "Ada", "kind": null}')) ok(m.accept(id));
  ok(bit(m.mask(), 199999) && !bit(m.mask(), 200018));
  equal(m.mask().length, Math.ceil(200019 / 32));
  // inside a string with multi-byte characters (o200k splits some of them across tokens)
  const j = compileGrammar({
    jsonSchema: { type: "array", items: { type: "string", maxLength: 12 } },
  }, tok);
  const mj = j.matcher();
  const ids = tok.encode('["naïve 🙂 café", "日本語のテキスト"]');
  ids.forEach((id, k) => {
    if (k % 3 === 1) deepEqual(mj.mask(), naiveMask(mj, j.idSpace), `token ${k}`);
    ok(mj.accept(id), `token ${k}`);
  });
  ok(mj.canTerminate());
});

const VALID_DOCS = [
  '{"name": "Ada", "kind": "a"}',
  '{"kind": 3, "name": "x"}',
  '{"flag": true, "tags": ["ab"], "kind": null, "name": "éé"}',
  ' {\n\t"name" : "Bob\\n" ,\r\n "kind":"b\\"c" , "extra": false, "tree": {"kids": [{"v": 0}, {"v": -7, "kids": []}], "v": 12}}\n',
  '{"name": "\\u0041\\ud83d\\ude00", "kind": "\\u0061", "point": [1e5, -0.25], "when": "2000-02-29"}',
  '{"id": "123e4567-E89B-12d3-a456-426614174000", "name": "12345678", "kind": null, "zz": true}',
  '{"id": -5, "name": "a", "kind": "a", "tags": ["a", "b", "c"], "point": [0, 0]}',
];

Deno.test("allows(t) is accept(t) without the state change, for every id, at the start, inside and at the end", async () => {
  const tok = await loadPretrained("o200k_base");
  const g = compileGrammar({ jsonSchema: SCHEMA }, tok);
  const m = g.matcher();
  const doc = Array.from(tok.encode('{"name": "Ada", "kind": null}'));
  for (const upTo of [0, 3, doc.length]) {
    m.reset();
    for (const id of doc.slice(0, upTo)) ok(m.accept(id));
    for (let t = 0; t < g.idSpace; t++) {
      const allowed = m.allows(t);
      equal(m.length, upTo);
      const took = m.accept(t);
      if (took) m.rollback(1);
      equal(allowed, took, `after ${upTo} tokens, id ${t}`);
    }
  }
  m.accept(g.stopTokens[0]);
  ok(m.isTerminated() && !m.allows(doc[0]) && !m.allows(g.stopTokens[0]) && !m.allows(1.5));
});

Deno.test("valid documents are never refused (reordered properties, whitespace, escapes)", async () => {
  for (const doc of VALID_DOCS) deepEqual(validate(SCHEMA, JSON.parse(doc)), [], doc); // the fixtures are valid
  for (const tok of [smallTok(), await loadPretrained("o200k_base")]) {
    const g = compileGrammar({ jsonSchema: SCHEMA }, tok);
    const any = compileGrammar({ json: true }, tok);
    for (const doc of VALID_DOCS) {
      for (const gg of [g, any]) {
        const m = gg.matcher();
        for (const id of tok.encode(doc)) {
          ok(bit(m.mask(), id), `${doc}: token ${id} not in the mask`);
          ok(m.accept(id), doc);
        }
        ok(m.canTerminate(), doc);
      }
    }
  }
});

Deno.test("invalid documents are refused", () => {
  const g = compileGrammar({ jsonSchema: SCHEMA }, smallTok());
  const bad = [
    '{"name": "Ada"}', // kind missing
    '{"name": "", "kind": "a"}', // minLength
    '{"name": "123456789", "kind": "a"}', // maxLength
    '{"name": "a", "kind": "a", "name": "b"}', // duplicate
    '{"name": "a", "kind": "b"}', // enum
    '{"name": "a", "kind": "a", "tags": []}', // minItems
    '{"name": "a", "kind": "a", "tags": ["A"]}', // pattern
    '{"name": "a", "kind": "a", "point": [1, 2, 3]}', // items false
    '{"name": "a", "kind": "a", "when": "2023-02-29"}', // not a leap year
    '{"name": "a", "kind": "a", "tree": {"v": 1, "w": 2}}', // additionalProperties false
    '{"name": "a", "kind": "a", "tree": {"v": 1.5}}', // integer
    '{"name": "a", "kind": "a", "tree": {"v": -41}}', // minimum
    '{"name": "a", "kind": "a", "tree": {"v": 0, "kids": [{"v": 1000}]}}', // exclusiveMaximum
    '{"name": "a", "kind": "a", "extra": 1}', // additional must be boolean
    '{"name": "a", "kind": "a", "flag": false}', // const
    '{"name": "\\ud83d", "kind": "a"}', // lone surrogate escape in a length-bounded string
    '{"name": "a", "kind": "a",}',
  ];
  for (const doc of bad) {
    const m = g.matcher();
    ok(!(m.acceptBytes(enc.encode(doc)) && m.canTerminate()), doc);
  }
});

Deno.test("additional properties: a declared name spelt with escapes is still the declared one", () => {
  const g = compileGrammar({
    jsonSchema: {
      type: "object",
      properties: { ab: { type: "integer" }, "a😀": { type: "null" } },
    },
  }, smallTok());
  const cases: Array<[string, boolean]> = [
    ['{"ab": 1}', true],
    ['{"ab": "x"}', false],
    ['{"\\u0061b": "x"}', false],
    ['{"\\u0061\\u0062": 2}', true],
    ['{"a\\u0042": "x"}', true], // "aB" is another name
    ['{"ab": 1, "\\u0061b": 2}', false], // duplicate: refused by the grammar
    ['{"abc": "x", "a": [], "": 0}', true],
    ['{"a\\ud83d\\ude00": 1}', false], // "a😀" must be null
    ['{"a\\ud83d\\ude00": null, "a\\ud83d\\ude01": 1}', true],
    ['{"a\\\\": 1, "a\\/": 2}', true],
  ];
  for (const [doc, valid] of cases) {
    if (doc === '{"ab": 1, "\\u0061b": 2}') {
      const m = g.matcher();
      equal(m.acceptBytes(enc.encode(doc)) && m.canTerminate(), false, "a duplicate key");
      continue;
    }
    // (JSON.parse keeps the last of duplicate keys, so the validator cannot see the duplicate)
    const schemaValid = validate({
      properties: { ab: { type: "integer" }, "a😀": { type: "null" } },
    }, JSON.parse(doc));
    equal(schemaValid.length === 0, valid, doc);
    const m = g.matcher();
    equal(m.acceptBytes(enc.encode(doc)) && m.canTerminate(), valid, doc);
  }
});

Deno.test("rollback restores the exact mask; reset starts over", () => {
  const tok = smallTok();
  const g = compileGrammar({ jsonSchema: SCHEMA }, tok);
  const m = g.matcher();
  const ids = tok.encode(VALID_DOCS[3]);
  const masks: Uint32Array[] = [m.mask()];
  for (const id of ids) {
    ok(m.accept(id));
    masks.push(m.mask());
  }
  ok(m.canTerminate());
  const rng = new Rng(5);
  for (let k = 0; k < 20 && m.length > 0; k++) {
    const n = rng.int(Math.min(5, m.length) + 1);
    m.rollback(n);
    deepEqual(m.mask(), masks[m.length], `after rollback to ${m.length}`);
    // a refused token changes nothing
    const before = m.mask();
    const badId = allowedIds(before, g.idSpace).length < g.idSpace
      ? [...Array(g.idSpace).keys()].find((t) => !bit(before, t))!
      : -1;
    if (badId >= 0) {
      equal(m.accept(badId), false);
      deepEqual(m.mask(), before);
    }
    // replay forward again
    const len = m.length;
    for (let j = len; j < Math.min(ids.length, len + 3); j++) ok(m.accept(ids[j]));
    deepEqual(m.mask(), masks[m.length]);
  }
  throws(() => m.rollback(m.length + 1), TokenlabError);
  m.reset();
  equal(m.length, 0);
  deepEqual(m.mask(), masks[0]);
});

Deno.test("malformed grammars and schemas are refused with their position", () => {
  const tok = smallTok();
  const ebnf = (src: string) => () => compileGrammar({ ebnf: src }, tok);
  throws(ebnf('root ::= "a"\nfoo ::= "b" |\n   [z-a]'), /ebnf 3:4: empty range/);
  throws(ebnf('root ::= "abc'), /ebnf 1:10: unterminated string/);
  throws(ebnf('root ::= ("a" | "b"'), /ebnf 1:10: expected \) closing/);
  throws(ebnf('root ::= "a"\n  x{3,1}'), /ebnf 2:4: repetition \{3,1\}/);
  throws(ebnf("root ::= item\n"), /rule "item" is used at 1:10 but never defined/);
  throws(ebnf('root ::= root "a" | "b"'), /left recursion root → root/);
  throws(ebnf('x ::= "a"'), /root rule "root" is not defined/);
  throws(ebnf('root ::= "a" x\nx ::= "(" x ")"'), /root rule "root" matches no string/);
  // an unproductive branch is never offered: no dead ends
  const dead = compileGrammar({ ebnf: 'root ::= "a" (x | "b")\nx ::= "(" x ")"' }, tok).matcher();
  equal(dead.acceptBytes(enc.encode("a(")), false);
  ok(dead.acceptBytes(enc.encode("ab")) && dead.canTerminate());
  ok(compileGrammar({ ebnf: 'x ::= "a"', root: "x" }, tok));
  const schema = (s: unknown, o = {}) => () => compileGrammar({ jsonSchema: s as never }, tok, o);
  throws(
    schema({ properties: { a: { type: "strin" } } }),
    /jsonSchema at #\/properties\/a\/type: unknown type "strin"/,
  );
  throws(
    schema({ properties: { a: { maxLength: -1 } } }),
    /#\/properties\/a\/maxLength: maxLength must be/,
  );
  throws(
    schema({ items: { $ref: "#/$defs/nope" } }),
    /#\/items: \$ref "#\/\$defs\/nope" points at nothing/,
  );
  throws(schema({ type: "string", pattern: "([a-" }), /#\/pattern: invalid regular expression/);
  throws(
    schema({ type: "object", frobnicate: 1 }),
    /jsonSchema at #: unknown keyword "frobnicate"/,
  );
  throws(schema({ required: "a" }), /#\/required: required must be an array of strings/);
  throws(schema({ enum: [] }), /no JSON value satisfies/);
  const loose = compileGrammar(
    {
      jsonSchema: {
        type: "object",
        frobnicate: 1,
        properties: { a: { type: "array", uniqueItems: true } },
      },
    },
    tok,
    {
      strict: false,
      warn: false,
    },
  );
  deepEqual(
    [...loose.unenforced].sort(),
    ["#/properties/a: uniqueItems", "#: frobnicate (unknown keyword)"].sort(),
  );
  const fmt = compileGrammar({ jsonSchema: { type: "string", format: "hostname" } }, tok, {
    warn: false,
  });
  deepEqual(fmt.unenforced, ['#: format "hostname"']);
});

Deno.test("recursive $ref and the end-of-text rule: stop allowed exactly when complete", () => {
  const tok = smallTok();
  const g = compileGrammar({ jsonSchema: { $ref: "#/$defs/node", $defs: SCHEMA.$defs } }, tok);
  const eot = tok.specialTokens["<|endoftext|>"], pad = tok.specialTokens["<|pad|>"];
  deepEqual(g.stopTokens, [eot]);
  const m = g.matcher();
  const doc = '{"v": 1, "kids": [{"v": 2, "kids": [{"v": 3}]}]}';
  let prefix = "";
  for (const id of tok.encode(doc)) {
    ok(!bit(m.mask(), pad));
    equal(bit(m.mask(), eot), m.canTerminate());
    ok(m.accept(id));
    prefix += tok.decode([id]);
    equal(m.canTerminate(), prefix === doc, prefix);
  }
  equal(m.accept(pad), false);
  ok(m.accept(eot));
  ok(m.isTerminated());
  deepEqual(allowedIds(m.mask(), g.idSpace), []);
});

Deno.test("constrainedGenerate: outputs match the grammar; greedy takes the best allowed token", async () => {
  const model = await loadModel("tests/fixtures/models/llama_gqa");
  const tok = trainBpe("(1,2) (33,4)", { vocabSize: 256 }); // bytes only: ids line up with the model's 256
  equal(tok.idSpace, model.config.vocabSize);
  const grammar = compileGrammar(
    { ebnf: 'root ::= "(" [0-9]{1,3} ("," [0-9]{1,3}){0,2} ")"' },
    tok,
  );
  for (const [temperature, seed] of [[0, 0], [1, 1], [1, 2], [0.7, 3]]) {
    const out = await constrainedGenerate(model, [1, 2], {
      grammar,
      maxNewTokens: 20,
      temperature,
      seed,
    });
    const text = tok.decode(out.ids);
    match(text, /^\([0-9]{1,3}(,[0-9]{1,3}){0,2}\)$/, `T=${temperature} seed=${seed}`);
    ok(out.complete && out.stopped);
    if (temperature === 0) {
      // recompute without the KV cache: each id is the argmax of the allowed logits
      const m = grammar.matcher();
      const ids = [1, 2];
      for (const id of out.ids) {
        const logits = await model.forward(ids, model.newCache());
        const row = logits.subarray(logits.length - 256);
        const mask = m.mask();
        let best = -1;
        for (let t = 0; t < 256; t++) {
          if (bit(mask, t) && (best < 0 || row[t] > row[best])) best = t;
        }
        equal(id, best);
        ok(m.accept(id));
        ids.push(id);
      }
    }
  }
});

Deno.test("integer bounds are exact (every value in [-1200, 1200] against the arithmetic)", () => {
  const tok = smallTok();
  const cases: Array<[Record<string, unknown>, (v: number) => boolean]> = [
    [{ minimum: 0 }, (v) => v >= 0],
    [{ minimum: -17, maximum: 305 }, (v) => v >= -17 && v <= 305],
    [{ exclusiveMinimum: 9, exclusiveMaximum: 1000 }, (v) => v > 9 && v < 1000],
    [{ minimum: 2.5, maximum: 99.5 }, (v) => v >= 2.5 && v <= 99.5],
    [{ maximum: -100 }, (v) => v <= -100],
    [{ minimum: 1000 }, (v) => v >= 1000],
  ];
  for (const [bounds, inRange] of cases) {
    const g = compileGrammar({ jsonSchema: { type: "integer", ...bounds } }, tok);
    deepEqual(g.unenforced, []);
    for (let v = -1200; v <= 1200; v++) {
      for (const text of [String(v), `${v}.0`]) {
        const m = g.matcher();
        equal(
          m.acceptBytes(enc.encode(text)) && m.canTerminate(),
          inRange(v),
          `${JSON.stringify(bounds)}: ${text}`,
        );
      }
    }
    const m = g.matcher();
    equal(m.acceptBytes(enc.encode("-0")) && m.canTerminate(), inRange(0), "-0");
    const lead = g.matcher();
    ok(!(lead.acceptBytes(enc.encode("007")) && lead.canTerminate()), "leading zeros");
  }
  // bounds on non-integers are enforced too (tests/decoding/grammar_ajv_test.ts checks them)
  const num = compileGrammar({ jsonSchema: { type: "number", minimum: 0 } }, tok, { warn: false });
  deepEqual(num.unenforced, []);
});

Deno.test("grammarTreeMasks: every node's mask equals a fresh replay of its path", () => {
  const tok = substringTok();
  const g = compileGrammar({ jsonSchema: SCHEMA }, tok, { warn: false });
  const rng = new Rng(9);
  const m = g.matcher();
  const prefix = tok.encode('{"name": "Ada", "tags": [');
  for (const id of prefix) ok(m.accept(id));
  // the path of a node replayed on a fresh matcher (null when the grammar refuses it)
  const replay = (v: number): GrammarMatcher | null => {
    const path: number[] = [];
    for (let u = v; u > 0; u = parents[u]) path.unshift(ids[u]);
    const fresh = g.matcher();
    for (const id of [...prefix, ...path]) if (!fresh.accept(id)) return null;
    return fresh;
  };
  // a random tree: node 0 is the last committed token; most children allowed, some random
  const ids = [prefix[prefix.length - 1]], parents = [-1];
  for (let v = 1; v < 60; v++) {
    const p = rng.int(v);
    parents.push(p);
    const pm = replay(p)?.mask();
    const allowed = pm ? allowedIds(pm, g.idSpace) : [];
    ids.push(
      allowed.length && rng.next() < 0.8 ? allowed[rng.int(allowed.length)] : rng.int(g.idSpace),
    );
  }
  const before = m.mask(), len = m.length;
  const r = grammarTreeMasks(m, { ids, parents });
  equal(m.length, len);
  deepEqual(m.mask(), before);
  let validCount = 0;
  for (let v = 0; v < ids.length; v++) {
    const fresh = replay(v);
    equal(r.valid[v], fresh !== null, `node ${v}`);
    if (fresh) validCount++, deepEqual(r.masks[v], fresh.mask(), `node ${v}`);
    else equal(r.masks[v], null);
  }
  ok(validCount > 10 && validCount < 60, `${validCount} valid nodes`);
});

Deno.test("fillMask writes what mask() returns", () => {
  const tok = smallTok();
  const g = compileGrammar({ json: true }, tok);
  const m = g.matcher();
  const buf = new Uint32Array((g.idSpace + 31) >>> 5).fill(0xffffffff);
  for (const id of tok.encode('{"a": [1, "b"]}')) {
    deepEqual(m.fillMask(buf), m.mask());
    ok(m.accept(id));
  }
  throws(() => m.fillMask(new Uint32Array(1)), TokenlabError);
});

Deno.test("minProperties/maxProperties and dependentRequired: every order of every subset", () => {
  const tok = smallTok();
  const schema = {
    type: "object",
    properties: { a: { type: "null" }, b: { type: "null" }, c: { type: "null" } },
    minProperties: 1,
    maxProperties: 2,
    dependentRequired: { a: ["b"] },
    additionalProperties: false,
  };
  const g = compileGrammar({ jsonSchema: schema }, tok);
  deepEqual(g.unenforced, []);
  const orders = (xs: string[]): string[][] =>
    xs.length === 0
      ? [[]]
      : xs.flatMap((x) => orders(xs.filter((y) => y !== x)).map((r) => [x, ...r]));
  for (let mask = 0; mask < 8; mask++) {
    const keys = ["a", "b", "c"].filter((_, i) => mask & (1 << i));
    const valid = keys.length >= 1 && keys.length <= 2 &&
      (!keys.includes("a") || keys.includes("b"));
    for (const order of orders(keys)) {
      const doc = "{" + order.map((k) => `"${k}": null`).join(", ") + "}";
      const m = g.matcher();
      equal(m.acceptBytes(enc.encode(doc)) && m.canTerminate(), valid, doc);
    }
  }
  // no dead ends: with at most one property, "a" (which needs "b") cannot even start
  const one = compileGrammar({ jsonSchema: { ...schema, maxProperties: 1 } }, tok);
  equal(one.matcher().acceptBytes(enc.encode('{"a"')), false);
  ok(one.matcher().acceptBytes(enc.encode('{"b"')));
  const loose = compileGrammar({ jsonSchema: { maxProperties: 2 } }, tok, { warn: false });
  deepEqual(loose.unenforced, [
    "#: minProperties/maxProperties (with additional or untracked properties)",
  ]);
});

// The caches shared between states (per trie node, per state after one byte, per NFA node of a
// kernel, duplicate rules merged): masks on the fixture schemas with llama3 equal the naive
// scan on states reached by different paths (documents of one schema in several property
// orders, so the same positions come under different stacks and subsets; the second and third
// schemas reuse the string masks the first one left in the per-tokenizer cache), after rollback
// (masks served from the caches filled by later states) and after reset.
Deno.test("shared mask caches: exact on states reached by different paths, after rollback and reset (llama3, fixture schemas)", async () => {
  const tok = await loadPretrained("llama3");
  const cases = JSON.parse(
    await Deno.readTextFile(new URL("../fixtures/grammar/schemas.json", import.meta.url)),
  ) as Array<{ name: string; schema: Record<string, unknown>; docs: string[] }>;
  const rng = new Rng(78);
  let checked = 0;
  for (
    const c of cases.filter((x) => ["github_issue", "k8s_pod", "ci_workflow"].includes(x.name))
  ) {
    const g = compileGrammar({ jsonSchema: c.schema }, tok, { warn: false });
    // the same documents with their top-level properties reversed: other paths to the
    // same nested positions
    const docs = [...c.docs];
    for (const d of c.docs) {
      const v = JSON.parse(d);
      docs.push(JSON.stringify(Object.fromEntries(Object.entries(v).reverse()), null, 1));
    }
    for (const doc of docs) {
      deepEqual(validate(c.schema, JSON.parse(doc)), [], `${c.name}: fixture is valid`);
      const m = g.matcher();
      const ids = tok.encode(doc);
      const masks: Uint32Array[] = [];
      for (const [k, id] of ids.entries()) {
        masks.push(m.mask());
        if (rng.int(12) === 0) {
          deepEqual(masks[k], naiveMask(m, g.idSpace), `${c.name} token ${k}: mask vs naive`);
          checked++;
        }
        ok(bit(masks[k], id), `${c.name}: token ${k} of a valid document not in the mask`);
        ok(m.accept(id));
      }
      ok(m.canTerminate(), c.name);
      // rollback to random points: the mask is the one met on the way, and naive-exact
      for (let r = 0; r < 3; r++) {
        m.rollback(rng.int(m.length + 1));
        deepEqual(m.mask(), masks[m.length], `${c.name}: after rollback to ${m.length}`);
        deepEqual(m.mask(), naiveMask(m, g.idSpace), `${c.name}: naive after rollback`);
        checked++;
        while (m.length < ids.length) ok(m.accept(ids[m.length]));
      }
      m.reset();
      deepEqual(m.mask(), masks[0], `${c.name}: after reset`);
      deepEqual(m.mask(), naiveMask(m, g.idSpace), `${c.name}: naive after reset`);
      checked++;
    }
  }
  ok(checked >= 60, `only ${checked} masks checked`);
});
