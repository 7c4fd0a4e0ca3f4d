import { deepEqual, throws } from "node:assert/strict";
import { loadTranslationCatalogues } from "../../lib/data/mod.ts";
import { parseMo } from "../../lib/data/catalogues.ts";

/** Builds a little-endian .mo file by hand. */
function makeMo(pairs: [string, string][]): Uint8Array {
  const enc = new TextEncoder();
  const n = pairs.length;
  const headerSize = 28, tables = 16 * n;
  const strings: Uint8Array[] = [];
  const entries: [number, number][] = [];
  let offset = headerSize + tables;
  for (const [orig, trans] of pairs) {
    for (const s of [orig, trans]) {
      const b = enc.encode(s);
      entries.push([b.length, offset]);
      strings.push(b, new Uint8Array([0]));
      offset += b.length + 1;
    }
  }
  const out = new Uint8Array(offset);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0x950412de, true);
  v.setUint32(8, n, true);
  v.setUint32(12, headerSize, true);
  v.setUint32(16, headerSize + 8 * n, true);
  pairs.forEach((_, i) => {
    v.setUint32(headerSize + 8 * i, entries[2 * i][0], true);
    v.setUint32(headerSize + 8 * i + 4, entries[2 * i][1], true);
    v.setUint32(headerSize + 8 * n + 8 * i, entries[2 * i + 1][0], true);
    v.setUint32(headerSize + 8 * n + 8 * i + 4, entries[2 * i + 1][1], true);
  });
  let o = headerSize + tables;
  for (const s of strings) {
    out.set(s, o);
    o += s.length;
  }
  return out;
}

Deno.test("parseMo reads translations, splits plurals, skips the header", () => {
  const mo = makeMo([["", "Content-Type: text/plain"], ["File", "Datei"], [
    "%d file\u0000%d files",
    "%d Datei\u0000%d Dateien",
  ]]);
  deepEqual(parseMo(mo), ["Datei", "%d Datei", "%d Dateien"]);
  throws(() => parseMo(new Uint8Array(10)), /too short/);
  throws(() => parseMo(mo.slice(0, 40)), /truncated/);
});

Deno.test("loadTranslationCatalogues reads a locale tree, skips corrupt files, explains what is missing", () => {
  const dir = Deno.makeTempDirSync();
  Deno.mkdirSync(`${dir}/xx/LC_MESSAGES`, { recursive: true });
  Deno.writeFileSync(
    `${dir}/xx/LC_MESSAGES/a.mo`,
    makeMo([["Open", "Öffnen"], ["Close", "Schließen"]]),
  );
  Deno.writeFileSync(`${dir}/xx/LC_MESSAGES/b.mo`, new Uint8Array([1, 2, 3])); // corrupt: skipped
  deepEqual(loadTranslationCatalogues({ language: "xx", root: dir }), ["Öffnen", "Schließen"]);
  throws(
    () => loadTranslationCatalogues({ language: "zz", root: dir }),
    /no translation catalogues/,
  );
  throws(() => loadTranslationCatalogues({ language: "../etc", root: dir }), /bad language/);
  Deno.removeSync(dir, { recursive: true });
});
