/**
 * Observable Plot figures that display in Jupyter and render headless to SVG with the same call.
 *
 * @module
 */
import * as PlotModule from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { TokenlabError } from "../util/errors.ts";
import { JUPYTER_DISPLAY, type MimeBundle } from "../util/jupyter.ts";

/**
 * Observable Plot's marks, transforms and scales, re-exported so a notebook needs one import.
 *
 * @example
 * ```ts
 * import { figure, Plot } from "@tokenlab/tokenlab/analysis";
 * figure({ marks: [Plot.dot([[1, 2], [2, 3]])] });
 * ```
 */
export const Plot: typeof PlotModule = PlotModule;

/** Options of {@linkcode figure}: Observable Plot's plot options. */
export type FigureOptions = PlotModule.PlotOptions;

/**
 * A rendered figure.
 *
 * @example
 * ```ts
 * import { figure, Plot } from "@tokenlab/tokenlab/analysis";
 * const fig = figure({ marks: [Plot.dot([[1, 2], [3, 4]])] });
 * console.log(fig.isSvg, fig.svg.startsWith("<svg"));
 * ```
 */
export class Figure {
  /** The figure as markup: an `<svg>`, or a `<figure>` holding a legend and an `<svg>`. */
  readonly html: string;

  /** Wraps rendered markup (use {@linkcode figure}). */
  constructor(html: string) {
    this.html = html;
  }

  /** Whether the figure is a bare SVG (no HTML legend or title around it). */
  get isSvg(): boolean {
    return this.html.startsWith("<svg");
  }

  /** The plot's main `<svg>` element as a standalone SVG document string. */
  get svg(): string {
    const m = this.html.match(/<svg[\s\S]*<\/svg>/);
    if (!m) throw new TokenlabError("figure has no <svg> element");
    let svg = m[0];
    // The first <svg> may be a legend swatch; take the largest one (the plot).
    const all = [...this.html.matchAll(/<svg\b[\s\S]*?<\/svg>/g)].map((x) => x[0]);
    if (all.length > 1) svg = all.reduce((a, b) => (b.length > a.length ? b : a));
    return svg.includes("xmlns=")
      ? svg
      : svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"');
  }

  /** The markup, so a figure can be interpolated into a page. */
  toString(): string {
    return this.html;
  }

  /** Rich display in Jupyter. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return this.isSvg ? { "image/svg+xml": this.svg } : { "text/html": this.html };
  }
}

/**
 * Renders Plot options to a {@linkcode Figure} with a headless (linkedom) document. The same
 * call shows in a notebook (last expression of a cell) and gives an SVG string in a script.
 *
 * @example
 * ```ts
 * import { figure, Plot } from "@tokenlab/tokenlab/analysis";
 * const fig = figure({
 *   marks: [Plot.lineY([1, 4, 2, 5])],
 *   title: "A line",
 * });
 * console.log(fig.svg.slice(0, 40));
 * ```
 */
export function figure(options: FigureOptions): Figure {
  if (!options || typeof options !== "object") {
    throw new TokenlabError("figure needs Plot options, e.g. { marks: [Plot.dot(data, …)] }");
  }
  // linkedom's typings describe a window; the document is what Plot needs.
  const { document } = parseHTML(
    "<!doctype html><html><head></head><body></body></html>",
  ) as unknown as { document: PlotModule.PlotOptions["document"] };
  withSvgCanvas(document as unknown as FakeDocument);
  let el: { outerHTML: string };
  try {
    el = PlotModule.plot({ ...options, document } as PlotModule.PlotOptions) as unknown as {
      outerHTML: string;
    };
  } catch (cause) {
    throw new TokenlabError(`Plot could not render the figure: ${(cause as Error).message}`, {
      hint: "check the marks' data and channel names",
      cause,
    });
  }
  let html = el.outerHTML;
  if (html.startsWith("<svg") && !html.includes("xmlns=")) {
    html = html.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"');
  }
  return new Figure(html);
}

/**
 * Writes a figure to disk: `.svg` (the plot's SVG) or `.html` (the whole figure with legend).
 *
 * @example
 * ```ts
 * import { figure, Plot, saveFigure } from "@tokenlab/tokenlab/analysis";
 * const path = await Deno.makeTempFile({ suffix: ".svg" });
 * await saveFigure(figure({ marks: [Plot.dot([[1, 2]])] }), path);
 * ```
 */
export async function saveFigure(fig: Figure, path: string): Promise<void> {
  if (!(fig instanceof Figure)) throw new TokenlabError("saveFigure needs a Figure from figure()");
  if (path.endsWith(".svg")) await Deno.writeTextFile(path, fig.svg);
  else if (path.endsWith(".html")) await Deno.writeTextFile(path, fig.html);
  else throw new TokenlabError(`cannot save a figure as ${path}`, { hint: "use .svg or .html" });
}

interface FakeDocument {
  createElement(tag: string): unknown;
}

/**
 * linkedom has no canvas, and Plot draws colour-ramp legends on one: give it a canvas that
 * records the fills and exports them as an SVG data URL, which browsers show like the PNG.
 */
function withSvgCanvas(document: FakeDocument): void {
  const create = document.createElement.bind(document);
  document.createElement = (tag: string) => {
    if (tag.toLowerCase() !== "canvas") return create(tag);
    const fills: { x: number; y: number; w: number; h: number; color: string }[] = [];
    const canvas = {
      width: 300,
      height: 150,
      getContext: () => ({
        fillStyle: "#000",
        fillRect(x: number, y: number, w: number, h: number) {
          fills.push({ x, y, w, h, color: String(this.fillStyle) });
        },
      }),
      toDataURL: () => {
        const rects = fills.map((f) =>
          `<rect x="${f.x}" y="${f.y}" width="${f.w}" height="${f.h}" fill="${f.color}"/>`
        ).join("");
        const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${canvas.width}" ` +
          `height="${canvas.height}" viewBox="0 0 ${canvas.width} ${canvas.height}" ` +
          `preserveAspectRatio="none" shape-rendering="crispEdges">${rects}</svg>`;
        return `data:image/svg+xml;base64,${btoa(svg)}`;
      },
    };
    return canvas;
  };
}
