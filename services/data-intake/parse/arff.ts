import { BadInput } from '../../../shared/index.js';
import { lineError } from './bad-input.js';
import { readHeaderLine, type ArffAttribute, type ArffHeader } from './arff-header.js';
import {
  CLOSE,
  createLineTokens,
  OPEN,
  PLAIN,
  QUOTED,
  shown,
  tokenizeLine,
  tokenText,
} from './arff-tokens.js';
import { labelIndex } from './csv.js';
import { createLabelCollector, type LabelCollector } from './labels.js';
import { parseNumberText, scanned, scanNumber } from './numbers.js';
import { createBlockSpill } from './spill.js';
import { spillLines, tabularResult } from './tabular-result.js';
import { createTabularRowWriter } from './tabular-spill.js';
import type { ParseContext, ParsedDataset } from './types.js';

/** Where each attribute goes once the header is read. */
interface Layout {
  attrs: ArffAttribute[];
  /** The class attribute. */
  labelAttr: number;
  /** Position in the feature row of each attribute; -1 for the class. */
  slot: Int32Array;
  /** Row of the last sparse line that set each attribute, to catch repeats. */
  seen: Int32Array;
  labels: LabelCollector;
}

const QUESTION = 63;

/**
 * Weka's ARFF (also OpenML's): a header of `@attribute` lines, then `@data` rows, dense
 * (`5.1,3.5,Iris-setosa`) or sparse (`{0 5.1, 4 Iris-setosa}`, where omitted values are 0,
 * the first value of a nominal attribute). Attribute names become the feature names; the
 * class is the last attribute unless `labelColumn` names another. A nominal class gives the
 * class names in declared order; nominal features are stored as the index of their value.
 * `?` is missing (NaN); a missing class is an error.
 */
export async function parseArff(
  source: AsyncIterable<Buffer>,
  ctx: ParseContext,
): Promise<ParsedDataset> {
  const o = ctx.opts;
  const spill = createBlockSpill({ dir: ctx.tmpDir, memoryLimitBytes: o.memoryLimitBytes });
  const writer = createTabularRowWriter(spill);
  const header: ArffHeader = { attributes: [] };
  const t = createLineTokens();
  let layout: Layout | null = null;
  let values = new Float32Array(0);
  let rows = 0;

  /** The number for attribute `a` from token `i`: a value, a nominal index, or NaN for `?`. */
  const valueOf = (a: ArffAttribute, i: number, buf: Buffer, line: number): number => {
    if (t.kind[i] === OPEN || t.kind[i] === CLOSE) {
      throw lineError(line, t.col[i]!, `expected a value of ${shown(a.name)}, found a brace`);
    }
    const plain = t.kind[i] === PLAIN;
    if (plain && t.end[i]! - t.start[i]! === 1 && buf[t.start[i]!] === QUESTION) return NaN;
    if (a.type === 'nominal') {
      const text = tokenText(t, i, buf);
      const id = a.ids.get(text);
      if (id === undefined) {
        const known = a.values.slice(0, 10).join(', ') + (a.values.length > 10 ? ', ...' : '');
        throw lineError(
          line,
          t.col[i]!,
          `${shown(text)} is not a value of attribute ${shown(a.name)} {${known}}`,
        );
      }
      return id;
    }
    let v: number;
    if (plain && scanNumber(buf, t.start[i]!, t.end[i]!) === t.end[i]) v = scanned.value;
    else v = t.kind[i] === QUOTED ? parseNumberText(t.text[i]!) : NaN;
    if (Number.isNaN(v)) {
      throw lineError(
        line,
        t.col[i]!,
        `value ${shown(tokenText(t, i, buf))} of attribute ${shown(a.name)} is not a number`,
      );
    }
    if (!Number.isFinite(Math.fround(v))) {
      throw lineError(line, t.col[i]!, 'value out of float32 range');
    }
    return v;
  };

  const denseRow = (l: Layout, buf: Buffer, line: number): number => {
    const width = l.attrs.length;
    for (let i = 0; i < t.n; i++) {
      if (t.kind[i] === OPEN) {
        const why =
          i === 0
            ? 'unexpected {'
            : 'instance weights ({weight} after the values) are not supported';
        throw lineError(line, t.col[i]!, why);
      }
    }
    if (t.n !== width) {
      const col = t.n > width ? t.col[width]! : 1;
      throw lineError(line, col, `expected ${width} values, found ${t.n}`);
    }
    let label = NaN;
    for (let a = 0; a < width; a++) {
      const v = valueOf(l.attrs[a]!, a, buf, line);
      if (a === l.labelAttr) {
        if (Number.isNaN(v)) throw lineError(line, t.col[a]!, 'label missing');
        label = v;
      } else values[l.slot[a]!] = v;
    }
    return label;
  };

  const sparseRow = (l: Layout, buf: Buffer, line: number): number => {
    const width = l.attrs.length;
    let close = 1;
    while (close < t.n && t.kind[close] !== CLOSE) close++;
    if (close === t.n) throw lineError(line, t.col[0]!, 'unclosed { (a sparse row ends with })');
    if (close + 1 < t.n) {
      const why =
        t.kind[close + 1] === OPEN
          ? 'instance weights ({weight} after the values) are not supported'
          : `unexpected ${shown(tokenText(t, close + 1, buf))} after }`;
      throw lineError(line, t.col[close + 1]!, why);
    }
    values.fill(0);
    // An omitted value is 0: for a nominal class, its first value.
    let label = 0;
    let i = 1;
    for (; i + 1 < close; i += 2) {
      const whole =
        t.kind[i] === PLAIN &&
        scanNumber(buf, t.start[i]!, t.end[i]!) === t.end[i] &&
        Number.isInteger(scanned.value);
      if (!whole) {
        throw lineError(
          line,
          t.col[i]!,
          `attribute index ${shown(tokenText(t, i, buf))} is not a whole number`,
        );
      }
      const a = scanned.value;
      if (a < 0 || a >= width) {
        throw lineError(line, t.col[i]!, `attribute index ${a} is outside 0..${width - 1}`);
      }
      if (l.seen[a] === rows) throw lineError(line, t.col[i]!, `attribute index ${a} set twice`);
      l.seen[a] = rows;
      const v = valueOf(l.attrs[a]!, i + 1, buf, line);
      if (a === l.labelAttr) {
        if (Number.isNaN(v)) throw lineError(line, t.col[i + 1]!, 'label missing');
        label = v;
      } else values[l.slot[a]!] = v;
    }
    if (i !== close) throw lineError(line, t.col[i]!, 'expected index value pairs');
    return label;
  };

  const onLine = (buf: Buffer, start: number, end: number, line: number): void => {
    // A UTF-8 byte order mark, which Windows editors write, is not part of the first keyword.
    if (line === 1 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) {
      start += 3;
    }
    tokenizeLine(t, buf, start, end, line);
    if (layout === null) {
      if (readHeaderLine(header, t, buf, line)) {
        layout = layoutOf(header, o.labelColumn, o.labelKind);
        values = new Float32Array(header.attributes.length - 1);
      }
      return;
    }
    if (t.n === 0) return;
    const label = t.kind[0] === OPEN ? sparseRow(layout, buf, line) : denseRow(layout, buf, line);
    rows++;
    layout.labels.add(null, label);
    writer.addDense(label, 0, values, values.length);
  };

  try {
    await spillLines(source, onLine, spill);
    const l = layout as Layout | null;
    if (l === null)
      throw new BadInput('no @data section: an ARFF file declares @attribute lines, then @data');
    return tabularResult({
      ctx,
      format: 'arff',
      spill,
      writer,
      labels: l.labels,
      dim: l.attrs.length - 1,
      featureNames: l.attrs.filter((_, i) => i !== l.labelAttr).map((a) => a.name),
    });
  } catch (err) {
    await spill.close();
    throw err;
  }
}

function layoutOf(
  h: ArffHeader,
  labelColumn: string | number | undefined,
  labelKind: 'class' | 'regression' | 'auto' | undefined,
): Layout {
  const attrs = h.attributes;
  if (attrs.length < 2) {
    throw new BadInput(
      'an ARFF dataset needs at least one feature attribute and a class attribute',
    );
  }
  const labelAttr = labelIndex(
    labelColumn,
    attrs.map((a) => a.name),
    attrs.length,
  );
  const cls = attrs[labelAttr]!;
  if (cls.type === 'nominal' && labelKind === 'regression') {
    throw new BadInput(
      `the class attribute '${cls.name}' is nominal: regression needs a numeric one`,
    );
  }
  const slot = new Int32Array(attrs.length);
  let k = 0;
  for (let i = 0; i < attrs.length; i++) slot[i] = i === labelAttr ? -1 : k++;
  return {
    attrs,
    labelAttr,
    slot,
    seen: new Int32Array(attrs.length).fill(-1),
    labels:
      cls.type === 'nominal'
        ? createLabelCollector({ names: cls.values })
        : createLabelCollector({ kind: labelKind }),
  };
}
