import { deepEqual, throws } from "node:assert/strict";
import { alignCatalogues, loadParallelCatalogues } from "../../lib/data/mod.ts";
import { parseMoPairs } from "../../lib/data/parallel_catalogues.ts";

/** Builds a little-endian .mo file by hand from (msgid, msgstr) pairs. */
function makeMo(pairs: [string, string][]): Uint8Array {
  const enc = new TextEncoder();
  const n = pairs.length;
  const headerSize = 28;
  const blobs: Uint8Array[] = [];
  const entries: [number, number][] = [];
  let offset = headerSize + 16 * n;
  for (const [orig, trans] of pairs) {
    for (const s of [orig, trans]) {
      const b = enc.encode(s);
      entries.push([b.length, offset]);
      blobs.push(b, new Uint8Array([0]));
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
  let o = headerSize + 16 * n;
  for (const b of blobs) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

Deno.test("parseMoPairs keeps msgid beside msgstr: header and empty translations skipped, plural and context reduced to the singular", () => {
  const mo = makeMo([
    ["", "Content-Type: text/plain"],
    ["File", "Datei"],
    ["%d file\u0000%d files", "%d Datei\u0000%d Dateien"],
    ["menu\u0004Open", "Öffnen"],
    ["Untranslated", ""],
  ]);
  deepEqual(parseMoPairs(mo), [["File", "Datei"], ["%d file", "%d Datei"], ["Open", "Öffnen"]]);
  throws(() => parseMoPairs(new Uint8Array(10)), /too short/);
  throws(() => parseMoPairs(mo.slice(0, 40)), /truncated/);
});

Deno.test("loadParallelCatalogues names each message's domain and alignCatalogues keeps what every language translates", () => {
  const dir = Deno.makeTempDirSync();
  for (const l of ["xx", "yy"]) Deno.mkdirSync(`${dir}/${l}/LC_MESSAGES`, { recursive: true });
  Deno.writeFileSync(
    `${dir}/xx/LC_MESSAGES/a.mo`,
    makeMo([["Close", "Schließen"], ["Open", "Öffnen"], ["Save", "Speichern"]]),
  );
  Deno.writeFileSync(`${dir}/xx/LC_MESSAGES/b.mo`, makeMo([["Open", "Aufmachen"]]));
  Deno.writeFileSync(`${dir}/xx/LC_MESSAGES/c.mo`, new Uint8Array([1, 2, 3])); // corrupt: skipped
  Deno.writeFileSync(
    `${dir}/yy/LC_MESSAGES/a.mo`,
    makeMo([["Open", "Ouvrir"], ["Save", "Enregistrer"]]),
  );
  Deno.writeFileSync(`${dir}/yy/LC_MESSAGES/b.mo`, makeMo([["Close", "Fermer"]]));
  deepEqual(loadParallelCatalogues({ language: "xx", root: dir }), [
    { domain: "a", source: "Close", translation: "Schließen" },
    { domain: "a", source: "Open", translation: "Öffnen" },
    { domain: "a", source: "Save", translation: "Speichern" },
    { domain: "b", source: "Open", translation: "Aufmachen" },
  ]);
  // "Close" is in different domains, b/"Open" only in xx: neither is aligned
  deepEqual(alignCatalogues({ languages: ["xx", "yy"], root: dir }), [
    { domain: "a", source: "Open", translations: { xx: "Öffnen", yy: "Ouvrir" } },
    { domain: "a", source: "Save", translations: { xx: "Speichern", yy: "Enregistrer" } },
  ]);
  throws(() => loadParallelCatalogues({ language: "zz", root: dir }), /no translation catalogues/);
  throws(() => loadParallelCatalogues({ language: "../x", root: dir }), /bad language/);
  throws(() => alignCatalogues({ languages: [], root: dir }), /non-empty/);
  Deno.removeSync(dir, { recursive: true });
});
