// `mod export`: a checkpoint as an ONNX graph (onnxruntime) or a PyTorch directory (docs/export.md).
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import type { CausalBias } from '../export/source.js';
import { formatCount } from '../format.js';
import type { Io } from './io.js';
import { optionValue, positiveInt } from './options.js';

interface RawExportOpts {
  ckpt: string;
  format: string;
  out: string;
  seq?: string;
  routing?: string;
  causalBias?: string;
}

export interface ExportOptions {
  ckpt: string;
  format: 'onnx' | 'torch';
  out: string;
  seq: number | null;
  routing: 'topk' | 'causal';
  causalBias: CausalBias;
}

export function registerExport(program: Command, io: Io): void {
  program
    .command('export')
    .description('write a checkpoint as an ONNX graph or a PyTorch model directory (docs/export.md)')
    .requiredOption('--ckpt <dir>', 'checkpoint directory (the --out of a training run)')
    .requiredOption('--format <format>', 'onnx (one .onnx file) or torch (a directory with modeling_mod.py)')
    .requiredOption('--out <path>', 'the .onnx file, or the PyTorch directory')
    .option('--seq <T>', 'onnx: the graph\'s sequence length, 1..blockSize (default blockSize)')
    .option('--routing <mode>', 'onnx, Mixture-of-Depths: topk (as trained) or causal (as sampled) (default topk)')
    .option('--causal-bias <z>', 'the causal rule\'s threshold: one number, or one per routed block, comma-separated (default 0)')
    .action(async (raw: RawExportOpts) => {
      const opts = parseExportOptions(raw);
      if (opts.format === 'onnx') {
        const { exportOnnx } = await import('../export/onnx.js');
        const s = exportOnnx(opts.ckpt, opts.out, { ...(opts.seq === null ? {} : { seq: opts.seq }), routing: opts.routing, causalBias: opts.causalBias });
        const shapes = [...s.inputs, ...s.outputs].map((v) => `${v.name} (${v.shape.join(', ')}) ${v.type}`).join(', ');
        const routing = s.routedBlocks === 0 ? 'dense' : `${s.routedBlocks} routed block${s.routedBlocks === 1 ? '' : 's'}, ${opts.routing}${s.k === null ? '' : ` k = ${s.k}`}`;
        io.out(`wrote ${opts.out}: ${formatCount(s.bytes)} bytes, opset 17, ${routing}; ${shapes}\n`);
      } else {
        const { exportTorch } = await import('../export/torch.js');
        const s = exportTorch(opts.ckpt, opts.out, { causalBias: opts.causalBias });
        io.out(`wrote ${opts.out}/: ${s.files.join(', ')} (${s.tensors} tensors); see ${opts.out}/README.md\n`);
      }
    });
}

export function parseExportOptions(raw: RawExportOpts): ExportOptions {
  if (raw.ckpt === '') throw new ConfigError(`--ckpt='' is empty: give a checkpoint directory`);
  if (raw.out === '') throw new ConfigError(`--out='' is empty: give a file (onnx) or a directory (torch)`);
  if (raw.format !== 'onnx' && raw.format !== 'torch') throw new ConfigError(`--format='${raw.format}' is not allowed: must be onnx or torch`);
  if (raw.routing !== undefined && raw.routing !== 'topk' && raw.routing !== 'causal') {
    throw new ConfigError(`--routing='${raw.routing}' is not allowed: must be topk or causal`);
  }
  if (raw.format === 'torch' && (raw.seq !== undefined || raw.routing !== undefined)) {
    throw new ConfigError(`--seq and --routing apply to --format onnx only: the PyTorch module takes any length and both routings at run time`);
  }
  return {
    ckpt: raw.ckpt,
    format: raw.format,
    out: raw.out,
    seq: optionValue<number | null>('seq', positiveInt('sequence length'), raw.seq, null),
    routing: raw.routing ?? 'topk',
    causalBias: parseCausalBias(raw.causalBias),
  };
}

function parseCausalBias(raw: string | undefined): CausalBias {
  if (raw === undefined) return 0;
  const values = raw.split(',').map((s) => (s.trim() === '' ? Number.NaN : Number(s)));
  if (values.some((v) => !Number.isFinite(v))) throw new ConfigError(`--causal-bias='${raw}' is not a number or a comma-separated list of numbers, e.g. --causal-bias 0.5 or 0.2,-0.1`);
  return values.length === 1 ? values[0]! : values;
}
