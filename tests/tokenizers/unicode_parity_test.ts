// Differential test: every pretrained tokenizer against its reference (tiktoken, HF `tokenizers`)
// on code points grouped by the peers' and V8's Unicode tables, in every position the
// pre-tokenizer patterns care about, on combining-mark pairs and on seeded random strings.
// The references' ids are hashed per block of cases in the fixture, made by
// tests/fixtures/make_unicode_parity.py; a differing block is reported with its strings.
import assert from "node:assert/strict";
import { loadPretrained, PRETRAINED_NAMES } from "../../lib/tokenizers/pretrained.ts";

interface Section {
  ids: number[];
  decoded: number[];
}
interface Fixture {
  block: number;
  templates: string[];
  chars: number[];
  pairBases: string[];
  pairCcc: number[];
  pairNew: number[];
  random: string[];
  bom: string[];
  bomRepeat: number;
  counts: Record<string, number>;
  tokenizers: Record<string, Record<string, Section> & { bomIds: (number[] | null)[] }>;
}

const fixture: Fixture = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/tokenizers/unicode_parity.json", import.meta.url)),
);

/** The cases, built from the fixture's spec exactly as the generator builds them. */
function sections(fx: Fixture): Record<string, string[]> {
  const single: string[] = [];
  for (const c of fx.chars) {
    for (const t of fx.templates) single.push(t.replaceAll("{c}", String.fromCodePoint(c)));
  }
  const marks: [number, number][] = [];
  for (const a of fx.pairCcc) for (const b of fx.pairCcc) marks.push([a, b]);
  for (const a of fx.pairNew) for (const b of fx.pairCcc) marks.push([a, b]);
  for (const a of fx.pairNew) for (const b of fx.pairCcc) marks.push([b, a]);
  const pairs: string[] = [];
  for (const [a, b] of marks) {
    for (const base of fx.pairBases) pairs.push(base + String.fromCodePoint(a, b));
  }
  const bom = [...fx.bom, "\uFEFF".repeat(fx.bomRepeat)];
  return { single, pairs, random: fx.random, bom };
}

function fnv(h: number, x: number): number {
  for (let k = 0; k < 4; k++) h = Math.imul(h ^ ((x >>> (8 * k)) & 0xff), 16777619) >>> 0;
  return h;
}

/** FNV-1a over each list's 32-bit values, a 0xFFFFFFFF after each list (as the generator). */
function hashLists(lists: ArrayLike<number>[]): number {
  let h = 2166136261;
  for (const ids of lists) {
    for (let i = 0; i < ids.length; i++) h = fnv(h, ids[i]);
    h = fnv(h, 0xffffffff);
  }
  return h;
}

function codePoints(s: string): number[] {
  return Array.from(s, (c) => c.codePointAt(0)!);
}

// Byte-level and not normalizing: decode(encode(x)) must give x back.
const LOSSLESS = new Set([
  "o200k_base",
  "cl100k_base",
  "r50k_base",
  "p50k_base",
  "llama3",
  "llama3_1",
  "deepseek_v3",
]);

const cases = sections(fixture);

Deno.test("unicode parity › the fixture builds the case counts its generator wrote", () => {
  for (const [name, texts] of Object.entries(cases)) {
    assert.equal(texts.length, fixture.counts[name], name);
  }
  assert.deepEqual(Object.keys(fixture.tokenizers).sort(), [...PRETRAINED_NAMES].sort());
});

for (const name of PRETRAINED_NAMES) {
  Deno.test(`unicode parity › ${name}: ids and decoding equal the reference's`, async () => {
    const tok = await loadPretrained(name);
    const ref = fixture.tokenizers[name];
    const problems: string[] = [];
    for (const [section, texts] of Object.entries(cases)) {
      const ids = texts.map((t) => tok.encode(t));
      const decoded = ids.map((x) => tok.decode(x));
      const blocks = ref[section].ids.length;
      assert.equal(blocks, Math.ceil(texts.length / fixture.block), `${section} block count`);
      let badIds = 0, badDecoded = 0;
      for (let b = 0; b < blocks; b++) {
        const lo = b * fixture.block, hi = Math.min(texts.length, lo + fixture.block);
        if (hashLists(ids.slice(lo, hi)) !== ref[section].ids[b]) {
          if (badIds++ < 3) {
            problems.push(
              `${section} ids, block ${b} (cases ${lo}..${hi - 1}): ` +
                JSON.stringify(texts.slice(lo, hi).map((t) => t.slice(0, 40))).slice(0, 400),
            );
          }
        }
        if (hashLists(decoded.slice(lo, hi).map(codePoints)) !== ref[section].decoded[b]) {
          if (badDecoded++ < 3) problems.push(`${section} decode, block ${b} (cases ${lo}..)`);
        }
      }
      if (badIds || badDecoded) {
        problems.push(
          `${section}: ${badIds}/${blocks} id blocks, ${badDecoded} decode blocks differ`,
        );
      }
      if (LOSSLESS.has(name)) {
        const lost = texts.filter((t, i) => decoded[i] !== t);
        if (lost.length) {
          problems.push(
            `${section}: decode(encode(x)) !== x for ${lost.length} strings, e.g. ${
              JSON.stringify(lost[0].slice(0, 40))
            } (length ${lost[0].length})`,
          );
        }
      }
    }
    // the U+FEFF cases with their ids written out, so a failure shows them
    cases.bom.forEach((t, i) => {
      const want = ref.bomIds[i];
      if (want !== null) {
        const got = [...tok.encode(t)];
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          problems.push(
            `${JSON.stringify(t)}: ${JSON.stringify(got)}, reference ${JSON.stringify(want)}`,
          );
        }
      }
    });
    const many = "\uFEFF".repeat(fixture.bomRepeat);
    const back = tok.decode(tok.encode(many));
    if (LOSSLESS.has(name)) assert.equal(back.length, many.length, "100 000 × U+FEFF round trip");
    assert.deepEqual(problems, [], `${name} differs from its reference`);
  });
}
