// The module base: a tree of named parameters and sub-modules, registered explicitly in construction order, so
// parameter names (nanoGPT / HF GPT-2 style, e.g. `transformer.h.0.attn.c_attn.weight`) are written in one place.
import type { Tensor } from '../engine/tensor.js';

export abstract class Module {
  private readonly entries: Array<[string, Tensor | Module]> = [];

  protected addParameter(name: string, t: Tensor): Tensor {
    this.entries.push([name, t]);
    return t;
  }

  /** Registers a child; a dotted name (e.g. `transformer.wte`) nests it without an intermediate module. */
  protected addModule<M extends Module>(name: string, m: M): M {
    this.entries.push([name, m]);
    return m;
  }

  /** [dotted name, tensor] for every parameter, in registration order; a shared (tied) tensor is listed once. */
  namedParameters(): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, prefix: string): void => {
      for (const [name, e] of m.entries) {
        if (e instanceof Module) walk(e, `${prefix}${name}.`);
        else if (!seen.has(e)) {
          seen.add(e);
          out.push([prefix + name, e]);
        }
      }
    };
    walk(this, '');
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Number of parameters (shared tensors counted once). */
  numParams(): number {
    return this.parameters().reduce((n, t) => n + t.size, 0);
  }
}
