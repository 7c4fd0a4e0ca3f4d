// The paper catalogue (data/papers.json): loading and validation.

/** One catalogue entry. */
export interface Paper {
  id: string;
  title: string;
  family: string;
  tier: "A" | "B" | "C";
  status: "not started" | "in progress" | "reproduced" | "partly reproduced" | "out of reach";
  notebook?: string;
  reason?: string;
  claim?: string;
  summary?: string;
}

export const TIERS = ["A", "B", "C"] as const;
export const STATUSES = [
  "not started",
  "in progress",
  "reproduced",
  "partly reproduced",
  "out of reach",
] as const;

/** Reads and validates the catalogue; throws an Error listing every problem found. */
export function loadCatalogue(path: string): Paper[] {
  let data: unknown;
  try {
    data = JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    throw new Error(`cannot read the catalogue ${path}: ${(e as Error).message}`);
  }
  const problems = validateCatalogue(data);
  if (problems.length > 0) {
    throw new Error(`the catalogue ${path} is malformed:\n  - ${problems.join("\n  - ")}`);
  }
  return data as Paper[];
}

/** Lists what is wrong with a parsed catalogue (empty when it is fine). */
export function validateCatalogue(data: unknown): string[] {
  if (!Array.isArray(data)) return ["it must be a JSON array of papers"];
  const problems: string[] = [];
  const seen = new Set<string>();
  data.forEach((p, i) => {
    const at = `entry ${i}${p && typeof p.id === "string" ? ` (${p.id})` : ""}`;
    if (!p || typeof p !== "object") return problems.push(`${at}: not an object`);
    if (typeof p.id !== "string" || !/^P\d\d$/.test(p.id)) {
      problems.push(`${at}: id must look like P07`);
    } else if (seen.has(p.id)) problems.push(`${at}: duplicate id`);
    else seen.add(p.id);
    if (typeof p.title !== "string" || !p.title) problems.push(`${at}: missing title`);
    if (typeof p.family !== "string" || !p.family) problems.push(`${at}: missing family`);
    if (!TIERS.includes(p.tier)) problems.push(`${at}: tier must be A, B or C`);
    if (!STATUSES.includes(p.status)) {
      problems.push(`${at}: status must be one of ${STATUSES.join(", ")}`);
    }
    if (p.notebook !== undefined && !/^notebooks\/[\w.-]+\.ipynb$/.test(p.notebook)) {
      problems.push(`${at}: notebook must look like notebooks/NN-slug.ipynb`);
    }
    if (p.tier === "C" && !p.reason) problems.push(`${at}: tier C needs a reason`);
  });
  return problems;
}
