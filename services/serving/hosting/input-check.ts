/** Checks request tensors against a model's declared inputs, with messages that say what is expected. */
import { BadInput } from '../../../shared/index.js';
import type { ModelIO, TensorSpec } from './protocol.js';
import { ELEM, sizeOf, type TensorMap } from '../tensors/tensors.js';

export const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

export function checkInputs(model: string, io: ModelIO, inputs: TensorMap): void {
  const known = new Map(io.inputs.map((s) => [s.name, s]));
  for (const name of Object.keys(inputs)) {
    if (!known.has(name)) {
      throw new BadInput(
        `model "${model}" has no input "${name}"; its inputs are: ${io.inputs.map((s) => s.name).join(', ')}`,
      );
    }
  }
  for (const spec of io.inputs) {
    const t = inputs[spec.name];
    if (!t)
      throw new BadInput(
        `missing input "${spec.name}" (${describeSpec(spec)}) for model "${model}"`,
      );
    if (t.type !== spec.type) {
      throw new BadInput(
        `input "${spec.name}" has datatype ${ELEM[t.type].v2}; model "${model}" expects ${ELEM[spec.type].v2}`,
      );
    }
    const fits =
      t.dims.length === spec.shape.length && spec.shape.every((d, i) => d < 0 || d === t.dims[i]);
    if (!fits) {
      throw new BadInput(
        `input "${spec.name}" has shape ${shapeText(t.dims)}; model "${model}" expects ${shapeText(spec.shape)} (-1 = any size)`,
      );
    }
    if (t.data.length !== sizeOf(t.dims)) {
      throw new BadInput(
        `input "${spec.name}" has ${t.data.length} values but shape ${shapeText(t.dims)} needs ${sizeOf(t.dims)}`,
      );
    }
  }
}

export function describeSpec(spec: TensorSpec): string {
  return `${ELEM[spec.type].v2} ${shapeText(spec.shape)}`;
}
