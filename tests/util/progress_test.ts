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

Deno.test("progress in Jupyter sends one display_data, then updates with the same display_id", () => {
  let t = 0;
  const sent: { type: string; content: Record<string, unknown> }[] = [];
  const bar = progress(4, {
    label: "nb",
    jupyter: true,
    now: () => t,
    broadcast: (type, content) => sent.push({ type, content }),
  });
  for (let i = 0; i < 4; i++) {
    t += 300;
    bar.tick();
  }
  bar.note("loss 1.5");
  bar.finish();
  ok(sent.length >= 2);
  equal(sent[0].type, "display_data");
  ok(sent.slice(1).every((m) => m.type === "update_display_data"));
  const ids = new Set(
    sent.map((m) => (m.content.transient as { display_id: string }).display_id),
  );
  equal(ids.size, 1);
  const last = sent.at(-1)!.content.data as Record<string, string>;
  ok(last["text/plain"].includes("4/4 100%") && last["text/plain"].includes("loss 1.5"));
  ok(last["text/html"].includes("<progress"));
  // A throwing front end must not break the loop.
  const quiet = progress(2, {
    jupyter: true,
    broadcast: () => {
      throw new Error("kernel gone");
    },
  });
  quiet.tick(2);
  quiet.finish();
  equal(quiet.done, 2);
});
