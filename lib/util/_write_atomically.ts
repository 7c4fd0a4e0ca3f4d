// The one way the library writes a user's file: the bytes go to a temporary file beside `path`
// that is renamed over it at the end, so an interrupted or failed save never leaves a truncated
// file and never destroys the previous one.
import { TokenlabError } from "./errors.ts";

/** Writes `data` (bytes or text) to `path` atomically; a failure names the path and a fix. */
export async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (cause) {
    await Deno.remove(tmp).catch(() => {});
    throw new TokenlabError(`could not write ${path}`, {
      cause,
      hint: "check that the folder exists and is writable, and that the disk has room",
    });
  }
}
