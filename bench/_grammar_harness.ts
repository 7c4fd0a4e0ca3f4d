/**
 * The grammar benchmark's measurements, shared by `bench/grammar.ts` (the command) and
 * notebooks/78-xgrammar: per vocabulary, each JSON Schema of tests/fixtures/grammar compiled
 * by tokenlab and by web-xgrammar (XGrammar's WebAssembly build, one thread) in the same
 * process, then its valid documents replayed token by token through both matchers (the same
 * token ids), timing every mask: tokenlab's `fillMask` into a reused buffer, XGrammar's
 * `getNextTokenBitmask()` (it returns a fresh copy). Every k-th tokenlab mask is also computed
 * the naive way (every id's bytes fed to the automaton) and checked equal. Documents of one
 * schema alternate which engine goes first.
 *
 * tokenlab fills its caches lazily by default, so a schema's first document pays for the trie
 * walks of the states it meets first; XGrammar fills its adaptive cache at compile time. Both
 * are reported: compile time alone, and compile plus the first document's masks. With
 * `precompute` tokenlab builds every position's cache inside `compileGrammar`, timed as
 * compile.
 *
 * @module
 */
import { compileGrammar } from "../lib/decoding/mod.ts";
import { naiveMask } from "../lib/decoding/_naive_mask.ts";
import { loadPretrained, type Tokenizer } from "../lib/tokenizers/mod.ts";
import { loadXGrammar, type XgCompiler, xgTokenizerInfo } from "./peers/web_xgrammar.ts";

/** One schema with valid documents (properties in schema order). */
export interface SchemaCase {
  name: string;
  schema: Record<string, unknown>;
  docs: string[];
}

/** The fixture schemas (tests/fixtures/grammar/schemas.json). */
export async function loadSchemaCases(): Promise<SchemaCase[]> {
  const url = new URL("../tests/fixtures/grammar/schemas.json", import.meta.url);
  return JSON.parse(await Deno.readTextFile(url));
}

/** Measurements of one schema. */
export interface SchemaRow {
  name: string;
  tokens: number;
  oursCompileMs: number;
  xgCompileMs: number | null;
  /** Mask times per token, µs, in document order (first document first). */
  oursUs: number[];
  xgUs: number[];
  /** How many of `oursUs` belong to the first document. */
  firstDocTokens: number;
  naiveUs: number[];
  /** Masks checked against the naive scan. */
  naiveChecked: number;
  /** Steps where the mask differed from the naive scan (should be none). */
  naiveMismatches: number[];
  /** Documents XGrammar refused, with the token index. */
  xgRefused: string[];
  xgError: string | null;
}

/** Measurements of one vocabulary. */
export interface VocabResult {
  vocab: string;
  idSpace: number;
  trieMs: number;
  xgTokenizerInfoMs: number | null;
  rows: SchemaRow[];
}

/** Options of {@linkcode benchVocab}. */
export interface BenchVocabOptions {
  cases: SchemaCase[];
  /** Check every k-th tokenlab mask against the naive scan (0: never). */
  naiveEvery: number;
  /** Run web-xgrammar beside (default true). */
  xgrammar?: boolean;
  /** Progress lines (default none). */
  log?: (line: string) => void;
  /** compileGrammar's `precompute` (default false: lazy caches); timed inside compile. */
  precompute?: boolean;
}

function now(): number {
  return performance.now();
}

/** Runs every case on one vocabulary with both engines. */
export async function benchVocab(vocab: string, opts: BenchVocabOptions): Promise<VocabResult> {
  const log = opts.log ?? (() => {});
  const tok: Tokenizer = await loadPretrained(vocab);
  let t0 = now();
  const probe = compileGrammar({ ebnf: 'root ::= "x"' }, tok); // builds the trie once
  const trieMs = now() - t0;
  const useXg = opts.xgrammar ?? true;
  let compiler: XgCompiler | null = null;
  let xgTokenizerInfoMs: number | null = null;
  if (useXg) {
    const xg = await loadXGrammar();
    t0 = now();
    const info = await xgTokenizerInfo(xg, tok, probe.stopTokens);
    xgTokenizerInfoMs = now() - t0;
    compiler = await xg.GrammarCompiler.createGrammarCompiler(info, false);
  }
  const xg = useXg ? await loadXGrammar() : null;
  const rows: SchemaRow[] = [];
  const buf = new Uint32Array((tok.idSpace + 31) >>> 5);
  for (const c of opts.cases) {
    t0 = now();
    const g = compileGrammar({ jsonSchema: c.schema }, tok, {
      warn: false,
      precompute: opts.precompute ?? false,
    });
    const oursCompileMs = now() - t0;
    let xgCompileMs: number | null = null;
    let xgError: string | null = null;
    let compiled = null;
    if (compiler) {
      try {
        t0 = now();
        compiled = await compiler.compileJSONSchema(
          JSON.stringify(c.schema),
          true,
          undefined,
          undefined,
          false, // strictMode off: unlisted properties allowed, as JSON Schema says
        );
        xgCompileMs = now() - t0;
      } catch (e) {
        xgError = String((e as Error)?.message ?? e);
      }
    }
    const row: SchemaRow = {
      name: c.name,
      tokens: 0,
      oursCompileMs,
      xgCompileMs,
      oursUs: [],
      xgUs: [],
      firstDocTokens: 0,
      naiveUs: [],
      naiveChecked: 0,
      naiveMismatches: [],
      xgRefused: [],
      xgError,
    };
    let step = 0;
    for (const [d, doc] of c.docs.entries()) {
      const ids = Array.from(tok.encode(doc));
      row.tokens += ids.length;
      if (d === 0) row.firstDocTokens = ids.length;
      const runOurs = () => {
        const m = g.matcher();
        for (const id of ids) {
          const a = now();
          const mk = m.fillMask(buf);
          row.oursUs.push((now() - a) * 1000);
          if (opts.naiveEvery > 0 && step % opts.naiveEvery === 0) {
            const b = now();
            const nv = naiveMask(m, g.idSpace);
            row.naiveUs.push((now() - b) * 1000);
            let same = true;
            for (let w = 0; w < nv.length && same; w++) same = mk[w] === nv[w];
            if (!same) row.naiveMismatches.push(step);
            row.naiveChecked++;
          }
          if (!m.accept(id)) throw new Error(`${vocab} ${c.name}: tokenlab refused ${doc}`);
          step++;
        }
        if (!m.canTerminate()) throw new Error(`${vocab} ${c.name}: incomplete: ${doc}`);
      };
      const runXg = async () => {
        if (!compiled || !xg) return;
        const m = await xg.GrammarMatcher.createGrammarMatcher(compiled);
        for (const [k, id] of ids.entries()) {
          const a = now();
          await m.getNextTokenBitmask();
          row.xgUs.push((now() - a) * 1000);
          if (!m.acceptToken(id)) {
            row.xgRefused.push(`doc ${d} token ${k}`);
            break;
          }
        }
        m.dispose();
      };
      if (d % 2 === 0) {
        runOurs();
        await runXg();
      } else {
        await runXg();
        runOurs();
      }
    }
    compiled?.dispose();
    rows.push(row);
    log(
      `${vocab} ${c.name}: compile ${oursCompileMs.toFixed(1)} ms vs xgrammar ${
        xgCompileMs?.toFixed(1) ?? "-"
      } ms; ${row.tokens} tokens`,
    );
  }
  compiler?.dispose();
  return { vocab, idSpace: tok.idSpace, trieMs, xgTokenizerInfoMs, rows };
}

/** The q-quantile (nearest rank) of xs. */
export function quantileOf(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
