import { equal, ok, rejects } from "node:assert/strict";
import { CpuTrainer, createTrainer, TinyLM } from "../../lib/models/mod.ts";
import { randomBatch, tiny } from "./_tiny_cases.ts";

Deno.test("CpuTrainer: reports the loss before the update and the unclipped norm; learns", async () => {
  const lm = new TinyLM(tiny(), { seed: 4 });
  const trainer = new CpuTrainer(lm);
  equal(trainer.backend, "cpu");
  const batch = randomBatch(3, { B: 2, S: 6, V: 23 });
  const before = lm.loss(batch);
  const first = await trainer.step(batch, { lr: 1e-2, gradClip: Infinity });
  equal(first.loss, before);
  let ss = 0;
  for (const g of lm.grads) ss += g * g;
  ok(Math.abs(first.gradNorm - Math.sqrt(ss)) < 1e-6 * first.gradNorm, "norm of the gradient");
  let last = first.loss;
  for (let i = 0; i < 30; i++) last = (await trainer.step(batch, { lr: 1e-2 })).loss;
  ok(last < 0.5 * first.loss, `memorising one batch: ${first.loss} → ${last}`);
  equal(await trainer.loss(batch), lm.loss(batch));
});

Deno.test("createTrainer: cpu by default; a bad backend or clip is refused", async () => {
  const lm = new TinyLM(tiny(), { seed: 1 });
  equal((await createTrainer(lm)).backend, "cpu");
  await rejects(
    () => createTrainer(lm, { backend: "tpu" as unknown as "cpu" }),
    /backend must be "cpu" or "gpu"/,
  );
  const batch = randomBatch(1, { B: 1, S: 3, V: 23 });
  await rejects(
    () => new CpuTrainer(lm).step(batch, { lr: 1e-3, gradClip: 0 }),
    /gradClip must be positive/,
  );
});
