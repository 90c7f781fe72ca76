/**
 * Named pipelines: DAGs of models served under a model name. A node's inputs come from
 * the request (`$request.<name>`) or from another node's output (`<node>.<output>`).
 * Each node starts as soon as its inputs exist, so independent branches run at the same
 * time in their models' own processes.
 */
import { z } from 'zod';
import { BadInput, NotFound } from '../../../shared/index.js';
import type { ModelIO, TensorSpec } from './protocol.js';
import type { Description, InferResult, Servable } from './servable.js';
import type { TensorMap } from '../tensors/tensors.js';

const REQUEST = '$request.';

export const PipelineDef = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/),
  nodes: z
    .array(
      z.object({
        id: z.string().regex(/^[A-Za-z0-9_-]+$/),
        model: z.string().min(1),
        /** pins a generation; default: production */
        version: z.number().int().positive().optional(),
        /** model input name → `$request.<name>` or `<node>.<output>` */
        inputs: z.record(z.string(), z.string()),
      }),
    )
    .min(1),
  /** pipeline output name → `<node>.<output>` */
  outputs: z
    .record(z.string(), z.string())
    .refine((o) => Object.keys(o).length > 0, 'needs at least one output'),
});
export type PipelineDef = z.infer<typeof PipelineDef>;
export const PipelineDefs = z.array(PipelineDef);

type Ref = { kind: 'request'; name: string } | { kind: 'node'; node: string; output: string };

function parseRef(ref: string): Ref {
  if (ref.startsWith(REQUEST)) return { kind: 'request', name: ref.slice(REQUEST.length) };
  const dot = ref.indexOf('.');
  if (dot <= 0)
    throw new BadInput(`bad reference "${ref}": use "$request.<input>" or "<node>.<output>"`);
  return { kind: 'node', node: ref.slice(0, dot), output: ref.slice(dot + 1) };
}

/** Checks references and acyclicity; returns the node ids in a valid run order. */
export function checkPipeline(def: PipelineDef): string[] {
  const ids = new Set<string>();
  for (const n of def.nodes) {
    if (ids.has(n.id))
      throw new BadInput(`pipeline "${def.name}": node id "${n.id}" is used twice`);
    ids.add(n.id);
  }
  const deps = new Map<string, string[]>();
  for (const n of def.nodes) {
    const d: string[] = [];
    for (const ref of Object.values(n.inputs).map(parseRef)) {
      if (ref.kind !== 'node') continue;
      if (!ids.has(ref.node))
        throw new BadInput(
          `pipeline "${def.name}": node "${n.id}" refers to unknown node "${ref.node}"`,
        );
      d.push(ref.node);
    }
    deps.set(n.id, d);
  }
  for (const ref of Object.values(def.outputs).map(parseRef)) {
    if (ref.kind !== 'node' || !ids.has(ref.node)) {
      throw new BadInput(
        `pipeline "${def.name}": outputs must refer to "<node>.<output>" of a known node`,
      );
    }
  }
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string) => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting')
      throw new BadInput(`pipeline "${def.name}" has a cycle through "${id}"`);
    state.set(id, 'visiting');
    for (const d of deps.get(id) ?? []) visit(d);
    state.set(id, 'done');
    order.push(id);
  };
  for (const id of ids) visit(id);
  return order;
}

export class Pipeline implements Servable {
  private readonly requestInputs: string[];

  constructor(
    private readonly def: PipelineDef,
    private readonly lookup: (model: string) => Servable | undefined,
  ) {
    checkPipeline(def);
    const names = new Set<string>();
    for (const n of def.nodes) {
      for (const ref of Object.values(n.inputs).map(parseRef))
        if (ref.kind === 'request') names.add(ref.name);
    }
    this.requestInputs = [...names];
  }

  get name(): string {
    return this.def.name;
  }

  /** the models this pipeline calls */
  get models(): string[] {
    return [...new Set(this.def.nodes.map((n) => n.model))];
  }

  ready(version?: number): boolean {
    return (
      version === undefined && this.def.nodes.every((n) => this.model(n.model).ready(n.version))
    );
  }

  async describe(version?: number): Promise<Description> {
    this.noVersion(version);
    const descs = new Map(
      await Promise.all(
        this.def.nodes.map(
          async (n) => [n.id, await this.model(n.model).describe(n.version)] as const,
        ),
      ),
    );
    const inputs: TensorSpec[] = [];
    for (const name of this.requestInputs) {
      const feed = this.def.nodes.flatMap((n) =>
        Object.entries(n.inputs)
          .filter(([, ref]) => ref === REQUEST + name)
          .map(([input]) => descs.get(n.id)!.io.inputs.find((s) => s.name === input)),
      )[0];
      if (feed) inputs.push({ ...feed, name });
    }
    const outputs: TensorSpec[] = [];
    for (const [name, ref] of Object.entries(this.def.outputs)) {
      const r = parseRef(ref) as Extract<Ref, { kind: 'node' }>;
      const spec = descs.get(r.node)!.io.outputs.find((s) => s.name === r.output);
      if (spec) outputs.push({ ...spec, name });
    }
    return {
      gen: undefined,
      io: { inputs, outputs },
      versions: [],
      maxBatch: 0,
      maxDelayMs: 0,
      platform: 'ensemble',
    };
  }

  async signature(version?: number): Promise<ModelIO> {
    return (await this.describe(version)).io;
  }

  loadedVersions(): number[] {
    return [];
  }

  async infer(inputs: TensorMap, version?: number): Promise<InferResult> {
    this.noVersion(version);
    for (const name of Object.keys(inputs)) {
      if (!this.requestInputs.includes(name)) {
        throw new BadInput(
          `pipeline "${this.name}" has no input "${name}"; its inputs are: ${this.requestInputs.join(', ')}`,
        );
      }
    }
    const runs = new Map<string, Promise<TensorMap>>();
    const byId = new Map(this.def.nodes.map((n) => [n.id, n]));
    const run = (id: string): Promise<TensorMap> => {
      let p = runs.get(id);
      if (!p) {
        const node = byId.get(id)!;
        p = (async () => {
          const feeds = await this.resolveAll(node.inputs, inputs, run);
          return (await this.model(node.model).infer(feeds, node.version)).outputs;
        })();
        runs.set(id, p);
      }
      return p;
    };
    return { gen: undefined, outputs: await this.resolveAll(this.def.outputs, inputs, run) };
  }

  /**
   * Resolves named references at the same time; the map comes back in the order `refs`
   * lists them, whichever branch finished first, so answers keep one shape.
   */
  private async resolveAll(
    refs: Record<string, string>,
    inputs: TensorMap,
    run: (id: string) => Promise<TensorMap>,
  ): Promise<TensorMap> {
    const entries = Object.entries(refs);
    const values = await Promise.all(
      entries.map(([, refText]) => this.resolve(parseRef(refText), inputs, run)),
    );
    const out: TensorMap = {};
    entries.forEach(([name], i) => (out[name] = values[i]!));
    return out;
  }

  private async resolve(ref: Ref, inputs: TensorMap, run: (id: string) => Promise<TensorMap>) {
    if (ref.kind === 'request') {
      const t = inputs[ref.name];
      if (!t) throw new BadInput(`missing input "${ref.name}" for pipeline "${this.name}"`);
      return t;
    }
    const out = (await run(ref.node))[ref.output];
    if (!out)
      throw new BadInput(
        `pipeline "${this.name}": node "${ref.node}" has no output "${ref.output}"`,
      );
    return out;
  }

  private model(name: string): Servable {
    const m = this.lookup(name);
    if (!m) throw new NotFound(`pipeline "${this.name}" uses model "${name}", which is not served`);
    return m;
  }

  private noVersion(version: number | undefined): void {
    if (version !== undefined)
      throw new NotFound(`pipeline "${this.name}" is not versioned; drop /versions/${version}`);
  }
}
