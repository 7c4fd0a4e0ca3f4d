// Byte helpers: UTF-8, "binary strings" (one char per byte, our internal key form), and the
// GPT-2 byte↔unicode alphabet that HF byte-level tokenizer.json files use.

const encoder = new TextEncoder();

/** UTF-8 bytes of `text` as a binary string (each char code 0–255 is one byte). */
export function utf8Binary(text: string): string {
  // ASCII fast path: the binary string is the text itself.
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 127) {
      ascii = false;
      break;
    }
  }
  if (ascii) return text;
  return bytesToBinary(encoder.encode(text));
}

/** Bytes → binary string. */
export function bytesToBinary(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

/** Binary string → bytes. */
export function binaryToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** GPT-2's byte → printable unicode char table (used by HF ByteLevel). */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return table;
})();

const UNICODE_TO_BYTE = new Map<string, number>(BYTE_TO_UNICODE.map((c, b) => [c, b]));

/** Decodes a GPT-2-alphabet token string to a binary string, or null if it is not one. */
export function byteLevelToBinary(token: string): string | null {
  let out = "";
  for (const ch of token) {
    const b = UNICODE_TO_BYTE.get(ch);
    if (b === undefined) return null;
    out += String.fromCharCode(b);
  }
  return out;
}

/** Encodes a binary string in the GPT-2 alphabet. */
export function binaryToByteLevel(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += BYTE_TO_UNICODE[s.charCodeAt(i)];
  return out;
}
