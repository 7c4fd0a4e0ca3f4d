/**
 * Grammar mask benchmark: compile time per grammar and mask time per token (`fillMask` into a
 * reused buffer, as a decoding loop calls it; median, p99) while
 * replaying documents token by token, against a naive scan (every id's bytes fed to the
 * automaton from the current state) on the same states, every mask checked equal to it. One
 * thread, CPU. Each grammar is compiled fresh, so its first document pays for the trie walks
 * of every state met for the first time (the caches fill lazily; XGrammar fills its adaptive
 * cache at compile time instead); later documents of the same grammar show the warm cost.
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
      '{"email": "alan@example.com", "address": {"zip": "10001", "city": "New York", "street": "5th Avenue"}, "name": "Alan Turing", "age": 41, "tags": ["logic"]}',
    ],
  },
  {
    name: "tree",
    source: { jsonSchema: TREE },
    docs: [
      '{"id": 1, "label": "root", "kids": [{"id": 2, "label": "branch", "kids": [{"id": 3, "label": "leaf"}, {"id": 4, "label": "leaf", "extra": {"note": "x"}}]}, {"id": 5}]}',
      '{"kids": [{"kids": [], "id": 10}, {"id": 11, "label": "leaf", "weight": 0.5}], "id": 9, "label": "branch"}',
    ],
  },
  {
    name: "event",
    source: { jsonSchema: EVENT },
    docs: [
      '{"title": "Standup meeting", "when": "2026-12-01T09:30:00Z", "id": "123e4567-e89b-12d3-a456-426614174000", "attendees": [{"name": "Ann", "ok": true}, {"name": "Bo"}]}',
      '{"when": "2027-01-15T18:00:00.250+01:00", "title": "Release party", "attendees": [{"ok": false, "name": "Cy"}], "room": "B2"}',
    ],
  },
  {
    name: "json",
    source: { json: true },
    docs: [
      '{"model": "tiny", "layers": [{"d": 256, "heads": 4}, {"d": 256, "heads": 4}], "lr": 3e-4, "notes": "warm-up 100 steps\\nthen cosine", "ok": true, "none": null}',
      '[{"city": "Paris", "pop": 2.1e6}, {"city": "Lyon", "pop": 522250, "tags": ["food", "silk"]}, null, [true, false]]',
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
const allFirst: number[] = [], allLater: number[] = [], allNaive: number[] = [];
for (const c of CASES) {
  t0 = performance.now();
  const g = compileGrammar(c.source, tok, { warn: false });
  const compileMs = performance.now() - t0;
  const first: number[] = [], later: number[] = [], naive: number[] = [];
  const buf = new Uint32Array((g.idSpace + 31) >>> 5);
  let step = 0;
  for (const [d, doc] of c.docs.entries()) {
    const m = g.matcher();
    for (const id of tok.encode(doc)) {
      const a = performance.now();
      const mk = m.fillMask(buf);
      (d === 0 ? first : later).push((performance.now() - a) * 1000);
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
  allFirst.push(...first);
  allLater.push(...later);
  allNaive.push(...naive);
  const firstTotal = first.reduce((a, b) => a + b, 0) / 1000;
  const row = {
    grammar: c.name,
    compileMs: +compileMs.toFixed(2),
    firstDocTokens: first.length,
    firstDocMaskTotalMs: +firstTotal.toFixed(1),
    firstMedianUs: +quantile(first, 0.5).toFixed(1),
    laterTokens: later.length,
    laterMedianUs: +quantile(later, 0.5).toFixed(1),
    laterP99Us: +quantile(later, 0.99).toFixed(1),
    naiveMedianUs: naive.length ? +quantile(naive, 0.5).toFixed(0) : null,
  };
  rows.push(row);
  console.log(
    `${c.name.padEnd(7)} compile ${
      row.compileMs.toFixed(1)
    } ms | first doc: ${first.length} masks, ` +
      `${
        firstTotal.toFixed(1)
      } ms in all, median ${row.firstMedianUs} µs | later docs: ${later.length} masks, ` +
      `median ${row.laterMedianUs} µs, p99 ${row.laterP99Us} µs | naive scan median ${row.naiveMedianUs} µs`,
  );
}
const nMed = quantile(allNaive, 0.5);
for (
  const [label, xs] of [["first documents (cold)", allFirst], [
    "later documents",
    allLater,
  ]] as const
) {
  const med = quantile(xs, 0.5);
  console.log(
    `${label}: mask median ${med.toFixed(1)} µs, p99 ${quantile(xs, 0.99).toFixed(1)} µs; ` +
      `naive scan median ${nMed.toFixed(0)} µs = ${(nMed / med).toFixed(0)}× the mask median`,
  );
}
if (jsonOut) await Deno.writeTextFile(jsonOut, JSON.stringify({ vocab, trieMs, rows }, null, 2));
