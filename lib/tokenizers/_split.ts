/**
 * Splitting a text on a pre-tokenizer RegExp, shared by the pre-tokenizers and the tokenizer
 * pipelines. Internal: not exported from the tokenizers entry point.
 *
 * @module
 */

/** Splits on every match of a global RegExp, keeping unmatched gaps as pieces. */
export function splitKeepAll(text: string, re: RegExp): string[] {
  const out: string[] = [];
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
