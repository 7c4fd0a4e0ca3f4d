// How a tokenizer shows itself: an HTML view of a text's tokens (coloured spans, ids on hover)
// that renders in Jupyter, and the one-line summary of the tokenizer.

import { JUPYTER_DISPLAY, type MimeBundle } from "../util/jupyter.ts";
import type { TokenOffset } from "./_encode_loop.ts";

const textEncoder = new TextEncoder();
const COLOURS = ["#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#ddd6fe", "#fbcfe8"];

/** A token view from `Tokenizer.show`. */
export interface TokenView {
  /** The HTML markup. */
  html: string;
  /** The ids shown. */
  ids: number[];
  /** Jupyter display. */
  [JUPYTER_DISPLAY]: () => MimeBundle;
}

/** The view of `text` split into the tokens `spans` by the tokenizer called `name`. */
export function tokenView(text: string, spans: TokenOffset[], name: string): TokenView {
  const html = `<div style="font-family:monospace;white-space:pre-wrap;line-height:1.8">` +
    spans.map((s, i) =>
      `<span title="id ${s.id}" style="background:${COLOURS[i % COLOURS.length]};` +
      `border-radius:3px;padding:1px 0">${escapeHtml(text.slice(s.start, s.end)) || "·"}</span>`
    ).join("") +
    `</div><div style="font-size:11px;color:#666">${spans.length} tokens, ` +
    `${textEncoder.encode(text).length} bytes · ${escapeHtml(name)}</div>`;
  return {
    html,
    ids: spans.map((s) => s.id),
    [JUPYTER_DISPLAY]: () => ({
      "text/html": html,
      "text/plain": spans.map((s) => s.id).join(" "),
    }),
  };
}

/** What `summaryBundle` says about a tokenizer. */
export interface TokenizerSummary {
  name: string;
  level: "byte" | "char";
  vocabSize: number;
  merges: number;
  added: number;
}

/** What a tokenizer is, in a line (plain text and HTML). */
export function summaryBundle(t: TokenizerSummary): MimeBundle {
  const summary = `${t.name}: ${t.level}-level BPE, ${t.vocabSize} ids, ` +
    `${t.merges} merges, ${t.added} added tokens`;
  return { "text/plain": summary, "text/html": `<code>${escapeHtml(summary)}</code>` };
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}
