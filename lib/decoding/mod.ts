/**
 * Decoding algorithms: speculative decoding on one engine (draft token trees and their
 * builders, lossless verification rules, prompt lookup, Token Recycling's adjacency table,
 * draft-model chains, all behind `speculativeGenerate`), and sparse speculation trees sized
 * for the hardware; grammar-constrained decoding after XGrammar (`compileGrammar` for JSON
 * Schema, EBNF or any JSON against a tokenizer, `GrammarMatcher` token masks, `constrainedGenerate`,
 * `grammarTreeMasks` for speculation trees); KV-cache policies are planned (see the catalogue).
 *
 * Generate with prompt lookup and check it against plain greedy decoding:
 *
 * @example
 * ```ts
 * import { bundledModelPath, generate, loadModel } from "@tokenlab/tokenlab/models";
 * import { speculativeGenerate } from "@tokenlab/tokenlab/decoding";
 * const target = await loadModel(bundledModelPath("tiny-target"));
 * const prompt = Array.from(target.tokenizer!.encode("one, two, three. one, two, three. one,"));
 * const { ids, stats } = await speculativeGenerate(target, prompt, { method: "pld", maxNewTokens: 8 });
 * console.log(ids.join() === (await generate(target, prompt, { maxNewTokens: 8 })).join(), stats.tau);
 * ```
 *
 * Generate JSON that follows a schema with the default target model (greedy; it stops on
 * end-of-text, allowed once the document is complete):
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { compileGrammar, constrainedGenerate } from "@tokenlab/tokenlab/decoding";
 * import type { Tokenizer } from "@tokenlab/tokenlab/tokenizers";
 * const target = await loadModel(bundledModelPath("tiny-target"));
 * const tok = target.tokenizer as Tokenizer; // loaded from its tokenizer.json
 * const schema = { type: "object", properties: { n: { type: "integer" } }, required: ["n"] };
 * // bound whitespace runs: an untrained model may loop on them
 * const grammar = compileGrammar({ jsonSchema: schema }, tok, { maxWhitespace: 1 });
 * const out = await constrainedGenerate(target, tok.encode("{"), { grammar, maxNewTokens: 24 });
 * console.log(tok.decode(out.ids), out.complete);
 * ```
 *
 * Size a speculation tree for a drafter whose top guess is accepted 80% of the time:
 *
 * @example
 * ```ts
 * import { geometricRankProbabilities, optimalSparseTree } from "@tokenlab/tokenlab/decoding";
 * console.log(geometricRankProbabilities(0.8, { maxRank: 3 })); // acceptance by rank
 * const tree = optimalSparseTree(8, { alpha: 0.8 });
 * console.log(tree.parents, tree.expectedTokens.toFixed(3));
 * ```
 *
 * @module
 */
export * from "./sparse_tree.ts";
export * from "./rank_acceptance.ts";
export * from "./token_tree.ts";
export * from "./verify.ts";
export * from "./ngram.ts";
export * from "./adjacency.ts";
export * from "./goose_tree.ts";
export * from "./trigram_mcts.ts";
export * from "./speculative.ts";
export * from "./grammar.ts";
export * from "./constrained_generate.ts";
export * from "./grammar_tree.ts";
export * from "./spectr.ts";
export * from "./dyspec_tree.ts";
export * from "./spec_bench.ts";
export * from "./tree_budget.ts";
export * from "./awrs.ts";
export * from "./arithmetic_coding.ts";
export * from "./byte_probabilities.ts";
export * from "./divergence.ts";
export * from "./del.ts";
export * from "./skipdecode.ts";
