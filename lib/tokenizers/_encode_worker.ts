// Worker side of encodeBatchParallel: rebuilds the tokenizer once, then encodes batches.
import { loadPretrained } from "./pretrained.ts";
import { Tokenizer, type WorkerSource } from "./tokenizer.ts";

let tokenizer: Tokenizer | null = null;

// The worker global, typed the same whether this file is checked as a worker or not.
const ctx = self as unknown as {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent) => void) | null;
};

async function build(source: WorkerSource): Promise<Tokenizer> {
  switch (source.kind) {
    case "pretrained":
      return await loadPretrained(source.name);
    case "json":
      return await Tokenizer.fromTokenizerJson(source.json as Record<string, unknown>);
    case "tiktoken":
      return Tokenizer.fromTiktoken(source.ranks, {
        pattern: source.pattern === null ? "none" : new RegExp(source.pattern, "gu"),
        specialTokens: source.specialTokens,
        name: source.name,
      });
    case "bpe":
      return Tokenizer.fromBpe({
        vocab: source.vocab,
        merges: source.merges,
        pretokenizer: source.pattern === null ? "none" : new RegExp(source.pattern, "gu"),
        specialTokens: source.specialTokens,
        name: source.name,
      });
  }
}

ctx.onmessage = async (e: MessageEvent) => {
  const msg = e.data;
  try {
    if (msg.type === "init") {
      tokenizer = await build(msg.source);
      ctx.postMessage({ type: "ready" });
    } else if (msg.type === "encode") {
      const out = (msg.texts as string[]).map((t) => tokenizer!.encode(t));
      ctx.postMessage({ type: "done", id: msg.id, out }, out.map((a) => a.buffer as ArrayBuffer));
    }
  } catch (err) {
    ctx.postMessage({
      type: "error",
      id: msg.id,
      message: String((err as Error)?.message ?? err),
    });
  }
};
