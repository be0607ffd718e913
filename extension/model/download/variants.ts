// The model Phi Local downloads, and which of its folders suits this machine: the CPU int4 export, or the GPU one
// when a GPU execution provider loads here (as the sidecar finds by trying each, see sidecar/diagnostics.ts).
import { isGpuProvider, type ExecutionProviderChoice, type ProviderProbe } from '../../../sidecar/protocol';

export const MODEL_REPO = 'microsoft/Phi-4-mini-instruct-onnx';
export const DEFAULT_REVISION = 'main';

/**
 * What the remote engine needs of the model to render Phi-4's prompts itself (sidecar/prompt/promptFiles.ts): the
 * tokenizer and the chat template, a few MB, the same in every variant's folder; not the 2.5 GB of weights.
 */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', 'chat_template.jinja'] as const;

export type VariantId = 'cpu-int4-rtn-block-32-acc-level-4' | 'gpu-int4-rtn-block-32';

export interface ModelVariant {
  /** Also the folder name it is stored under. */
  id: VariantId;
  kind: 'cpu' | 'gpu';
  /** The folder of the repository that holds it. */
  repoFolder: string;
  label: string;
  /** Roughly, for the quick pick before the listing gives the exact size. */
  approxBytes: number;
}

export const VARIANTS: readonly ModelVariant[] = [
  {
    id: 'cpu-int4-rtn-block-32-acc-level-4', kind: 'cpu', repoFolder: 'cpu_and_mobile/cpu-int4-rtn-block-32-acc-level-4',
    label: 'CPU (int4)', approxBytes: 2.8e9,
  },
  {
    id: 'gpu-int4-rtn-block-32', kind: 'gpu', repoFolder: 'gpu/gpu-int4-rtn-block-32',
    label: 'GPU (int4, fp16 activations)', approxBytes: 2.6e9,
  },
];

export function variantById(id: string): ModelVariant | undefined {
  return VARIANTS.find((v) => v.id === id);
}

/** The variant for this machine: the GPU one when the provider the settings ask for (or, for auto, any GPU) loads. */
export function chooseVariant(probes: readonly ProviderProbe[], choice: ExecutionProviderChoice): { variant: ModelVariant; reason: string } {
  const cpu = VARIANTS[0];
  const gpu = VARIANTS[1];
  if (choice === 'cpu') return { variant: cpu, reason: 'phiLocal.executionProvider is "cpu".' };
  const loading = probes.filter((p) => p.loads && isGpuProvider(p.provider) && (choice === 'auto' || p.provider === choice));
  if (loading.length > 0) return { variant: gpu, reason: `the ${loading.map((p) => p.provider).join(' and ')} provider loads on this machine.` };
  const failed = probes.filter((p) => !p.loads && isGpuProvider(p.provider) && (choice === 'auto' || p.provider === choice));
  return {
    variant: cpu,
    reason: failed.length ? `no GPU provider loads here (${failed.map((p) => `${p.provider}: ${p.reason ?? 'failed'}`).join('; ')}).` : 'no GPU provider is available here.',
  };
}

/** What to do by hand when the hub cannot be reached from this machine. */
export function manualCopyHelp(variant: ModelVariant): string {
  return `To install the model by hand: on a machine with internet access, download the folder ${variant.repoFolder}/ of ` +
    `${MODEL_REPO} from Hugging Face (for example \`huggingface-cli download ${MODEL_REPO} --include "${variant.repoFolder}/*" --local-dir phi4\`), ` +
    'copy that folder to this machine, then run "Phi: Select Model Folder" and choose it.';
}
