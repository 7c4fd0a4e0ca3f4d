/**
 * Grammar mask benchmark: compile time per grammar and mask time per token (median, p99) while
 * replaying documents token by token, against a naive scan (every id's bytes fed to the
 * automaton from the current state) on the same states. One thread, CPU; masks are computed
 * cold (a fresh compile per grammar, so the first visit of each state pays the trie walk).
 * The peer benchmark against web-xgrammar is not here yet (issue 17 §2).
 *
 * Run: `deno task bench:grammar [--vocab o200k_base] [--naive-every 4] [--json out.json]`.
 *
 * @module
 */
import { compileGrammar, type GrammarMatcher, type GrammarSource } from "../lib/decoding/mod.ts";
import { loadPretrained } from "../lib/tokenizers/mod.ts";

function arg(name: string, dflt: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : dflt;
}

const vocab = arg("--vocab", "o200k_base");
const naiveEvery = Number(arg("--naive-every", "4"));
const jsonOut = Deno.args.includes("--json") ? arg("--json", "") : "";

const PERSON = {
  type: "object",
  properties: {
    name: { type: "string" },
    age: { type: "integer" },
    email: { type: "string", format: "email" },
    tags: { type: "array", items: { type: "string" }, maxItems: 8 },
    address: {
      type: "object",
      properties: {
        street: { type: "string" },
        city: { type: "string" },
        zip: { type: "string", pattern: "^[0-9]{5}$" },
      },
      required: ["city"],
    },
  },
  required: ["name", "age"],
  additionalProperties: false,
};
const TREE = {
  $defs: {
    node: {
      type: "object",
      properties: {
        id: { type: "integer" },
        label: { enum: ["leaf", "branch", "root"] },
        kids: { type: "array", items: { $ref: "#/$defs/node" } },
      },
      required: ["id"],
    },
  },
  $ref: "#/$defs/node",
};
const EVENT = {
  type: "object",
  properties: {
    when: { type: "string", format: "date-time" },
    id: { type: "string", format: "uuid" },
    title: { type: "string", minLength: 1, maxLength: 40 },
    attendees: {
      type: "array",
      items: {
        type: "object",
        properties: { name: { type: "string" }, ok: { type: "boolean" } },
        required: ["name"],
      },
      minItems: 1,
    },
  },
  required: ["when", "title"],
};

const CASES: Array<{ name: string; source: GrammarSource; docs: string[] }> = [
  {
    name: "person",
    source: { jsonSchema: PERSON },
    docs: [
      '{"name": "Ada Lovelace", "age": 36, "email": "ada@example.org", "tags": ["math", "poetry", "engines"], "address": {"street": "12 St James\'s Square", "city": "London"}}',
      '{"age": 41, "name": "Grace Hopper", "address": {"city": "Arlington", "zip": "22201"}, "tags": []}',
    ],
  },
  {
    name: "tree",
    source: { jsonSchema: TREE },
    docs: [
      '{"id": 1, "label": "root", "kids": [{"id": 2, "label": "branch", "kids": [{"id": 3, "label": "leaf"}, {"id": 4, "label": "leaf", "extra": {"note": "x"}}]}, {"id": 5}]}',
    ],
  },
  {
    name: "event",
    source: { jsonSchema: EVENT },
    docs: [
      '{"title": "Standup meeting", "when": "2026-12-01T09:30:00Z", "id": "123e4567-e89b-12d3-a456-426614174000", "attendees": [{"name": "Ann", "ok": true}, {"name": "Bo"}]}',
    ],
  },
  {
    name: "json",
    source: { json: true },
    docs: [
      '{"model": "tiny", "layers": [{"d": 256, "heads": 4}, {"d": 256, "heads": 4}], "lr": 3e-4, "notes": "warm-up 100 steps\\nthen cosine", "ok": true, "none": null}',
    ],
  },
];

function naiveMask(m: GrammarMatcher, idSpace: number): Uint32Array {
  const out = new Uint32Array((idSpace + 31) >>> 5);
  for (let t = 0; t < idSpace; t++) {
    if (m.accept(t)) {
      out[t >>> 5] |= 1 << (t & 31);
      m.rollback(1);
    }
  }
  return out;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const tok = await loadPretrained(vocab);
let t0 = performance.now();
compileGrammar({ ebnf: 'root ::= "x"' }, tok); // builds the vocabulary trie (once per tokenizer)
const trieMs = performance.now() - t0;
console.log(
  `${vocab}: ${tok.idSpace} ids; vocabulary trie ${trieMs.toFixed(0)} ms (once per tokenizer)`,
);
const rows: Record<string, unknown>[] = [];
const allMask: number[] = [], allNaive: number[] = [];
for (const c of CASES) {
  t0 = performance.now();
  const g = compileGrammar(c.source, tok, { warn: false });
  const compileMs = performance.now() - t0;
  const mask: number[] = [], naive: number[] = [];
  let step = 0;
  for (const doc of c.docs) {
    const m = g.matcher();
    for (const id of tok.encode(doc)) {
      const a = performance.now();
      const mk = m.mask();
      mask.push((performance.now() - a) * 1000);
      if (naiveEvery > 0 && step % naiveEvery === 0) {
        const b = performance.now();
        const nv = naiveMask(m, g.idSpace);
        naive.push((performance.now() - b) * 1000);
        for (let w = 0; w < mk.length; w++) {
          if (mk[w] !== nv[w]) {
            throw new Error(`${c.name}: mask differs from the naive scan at token ${step}`);
          }
        }
      }
      if (!m.accept(id)) throw new Error(`${c.name}: document refused at token ${step}: ${doc}`);
      step++;
    }
    if (!m.canTerminate()) throw new Error(`${c.name}: document incomplete: ${doc}`);
  }
  allMask.push(...mask);
  allNaive.push(...naive);
  const row = {
    grammar: c.name,
    compileMs: +compileMs.toFixed(2),
    tokens: mask.length,
    maskMedianUs: +quantile(mask, 0.5).toFixed(1),
    maskP99Us: +quantile(mask, 0.99).toFixed(1),
    naiveMedianUs: naive.length ? +quantile(naive, 0.5).toFixed(0) : null,
  };
  rows.push(row);
  console.log(
    `${c.name.padEnd(7)} compile ${
      row.compileMs.toFixed(1).padStart(7)
    } ms | ${row.tokens} tokens | mask median ${row.maskMedianUs} µs, p99 ${row.maskP99Us} µs | naive median ${row.naiveMedianUs} µs`,
  );
}
const mMed = quantile(allMask, 0.5), nMed = quantile(allNaive, 0.5);
console.log(
  `all: mask median ${mMed.toFixed(1)} µs, p99 ${
    quantile(allMask, 0.99).toFixed(1)
  } µs; naive median ${nMed.toFixed(0)} µs; naive/mask (medians) ${(nMed / mMed).toFixed(0)}×`,
);
if (jsonOut) await Deno.writeTextFile(jsonOut, JSON.stringify({ vocab, trieMs, rows }, null, 2));
