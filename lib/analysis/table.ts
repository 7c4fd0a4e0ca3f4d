/**
 * Arquero tables that render as HTML tables in Jupyter.
 *
 * @module
 */
import * as arquero from "arquero";
import { TokenlabError } from "../util/errors.ts";
import { JUPYTER_DISPLAY, type MimeBundle } from "../util/jupyter.ts";

/**
 * Arquero (`aq.table`, `aq.from`, `aq.op`, `aq.escape` …), re-exported for notebooks.
 *
 * @example
 * ```ts
 * import { aq } from "@tokenlab/tokenlab/analysis";
 * console.log(aq.table({ x: [1, 2] }).numRows());
 * ```
 */
export const aq: typeof arquero = arquero;

/** An Arquero table. */
export type Table = arquero.ColumnTable;

/** Options for {@linkcode table}. */
export interface TableOptions {
  /** Rows shown in Jupyter (default 50). */
  limit?: number;
}

/**
 * Makes an Arquero table from rows (array of objects) or columns (object of arrays) that
 * displays as an HTML table when it is the last expression of a notebook cell. Tables derived
 * from it with Arquero verbs are ordinary Arquero tables: pass them through `table()` again
 * (or {@linkcode showTable}) to display them.
 *
 * @example
 * ```ts
 * import { table } from "@tokenlab/tokenlab/analysis";
 * const t = table([{ lang: "en", tokens: 10 }, { lang: "de", tokens: 13 }]);
 * console.log(t.numRows(), t.toMarkdown());
 * ```
 */
export function table(
  data: Record<string, unknown>[] | Record<string, ArrayLike<unknown>> | Table,
  options: TableOptions = {},
): Table {
  let t: Table;
  if (data instanceof arquero.ColumnTable) t = data;
  else if (Array.isArray(data)) t = arquero.from(data);
  else if (data && typeof data === "object") {
    t = arquero.table(data as Record<string, ArrayLike<unknown>>);
  } else {
    throw new TokenlabError("table needs an array of row objects or an object of columns");
  }
  return showTable(t, options);
}

/**
 * Gives an existing Arquero table an HTML display in Jupyter (returns the same table).
 *
 * @example
 * ```ts
 * import { aq, showTable } from "@tokenlab/tokenlab/analysis";
 * showTable(aq.table({ x: [1, 2, 3] }).derive({ y: (d: { x: number }) => d.x * 2 }));
 * ```
 */
export function showTable(t: Table, options: TableOptions = {}): Table {
  const limit = options.limit ?? 50;
  Object.defineProperty(t, JUPYTER_DISPLAY, {
    value: (): MimeBundle => ({
      "text/html": t.toHTML({ limit }) +
        (t.numRows() > limit
          ? `<div style="font-size:11px;color:#666">${limit} of ${t.numRows()} rows</div>`
          : ""),
      "text/plain": t.toMarkdown({ limit }),
    }),
    configurable: true,
  });
  return t;
}
