import { deepEqual, throws } from "node:assert/strict";
import { promptLookup } from "../../lib/decoding/ngram.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

Deno.test("promptLookup: longest n-gram first, first or last occurrence, capped", () => {
  // suffix [5, 6]: the bigram occurs at 1 (followed by 7 8 9) and at 6 (followed by 1)
  const ctx = [1, 5, 6, 7, 8, 9, 5, 6, 1, 5, 6];
  deepEqual(promptLookup(ctx, { maxDraft: 3, maxNgram: 2 }), [7, 8, 9]);
  deepEqual(promptLookup(ctx, { maxDraft: 3, maxNgram: 2, occurrence: "last" }), [1, 5, 6]);
  // trigram [1, 5, 6] matches at 0 before any bigram is tried
  deepEqual(promptLookup(ctx, { maxDraft: 2, maxNgram: 3 }), [7, 8]);
  // with only unigrams: the last token 6's first earlier occurrence is at 2
  deepEqual(promptLookup(ctx, { maxNgram: 1, maxDraft: 2 }), [7, 8]);
  // continuation runs into the suffix itself when the match is recent
  deepEqual(promptLookup([4, 4, 4], { maxDraft: 5 }), [4]);
  deepEqual(promptLookup([1, 2, 3], {}), []);
  deepEqual(promptLookup([7], {}), []);
  deepEqual(promptLookup(ctx, { maxDraft: 0 }), []);
  throws(() => promptLookup(ctx, { minNgram: 0 }), TokenlabError);
  throws(() => promptLookup(ctx, { minNgram: 3, maxNgram: 2 }), TokenlabError);
});
