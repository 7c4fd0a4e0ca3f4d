import { equal, ok, throws } from "node:assert/strict";
import { progress, type ProgressStream, TokenlabError } from "../../mod.ts";

function fakeStream(terminal: boolean): ProgressStream & { text: () => string } {
  const chunks: string[] = [];
  const dec = new TextDecoder();
  return {
    writeSync(p: Uint8Array) {
      chunks.push(dec.decode(p));
      return p.length;
    },
    isTerminal: () => terminal,
    text: () => chunks.join(""),
  };
}

Deno.test("progress redraws in place on a terminal and ends with a newline", () => {
  let t = 0;
  const s = fakeStream(true);
  const bar = progress(10, { label: "work", stream: s, now: () => t, jupyter: false });
  for (let i = 0; i < 10; i++) {
    t += 150;
    bar.tick();
  }
  bar.finish();
  const out = s.text();
  ok(out.startsWith("\r"));
  equal(out.split("\n").length, 2); // one final newline only
  ok(out.includes("work [") && out.includes("10/10 100%"));
});

Deno.test("progress prints throttled lines on a non-terminal", () => {
  let t = 0;
  const s = fakeStream(false);
  const bar = progress(100, {
    stream: s,
    now: () => t,
    lineIntervalMs: 1000,
    jupyter: false,
    unit: "docs",
  });
  for (let i = 0; i < 100; i++) {
    t += 50; // 5 s in all → about 5 lines, plus the final one
    bar.tick();
  }
  bar.finish();
  const lines = s.text().trim().split("\n");
  ok(lines.length >= 5 && lines.length <= 7, `${lines.length} lines`);
  ok(!s.text().includes("\r"));
  ok(lines.at(-1)!.includes("100/100") && lines.at(-1)!.includes("docs/s"));
});

Deno.test("progress survives a closed stream and validates total", () => {
  const broken: ProgressStream = {
    writeSync() {
      throw new Error("closed");
    },
  };
  const bar = progress(2, { stream: broken, jupyter: false });
  bar.tick(2);
  bar.finish();
  equal(bar.done, 2);
  throws(() => progress(-1), TokenlabError);
});
