/** `acr fit-asm`: dataset -> Active Shape Model JSON, fitted on the training faces only. */
import * as path from 'node:path';
import { fitAsm } from '../asm';
import { AcrError, ArgumentError } from '../errors';
import { loadDataset, splitDataset } from '../data';
import { writeFileAtomic } from '../tfjs/io';
import { DEFAULT_TRAIN_CONFIG as D, resolveTrainConfig } from '../train/config';
import { cropTargets } from '../train/folder-data';
import { asFlagError } from './train';
import { parseOptions, usageText, type OptionTable } from './args';
import type { Command } from './main';

const OPTIONS: OptionTable = {
  data: { kind: 'string', arg: 'PATH', help: 'Dataset: 300-W style folder, WFLW list or .jsonl', required: true },
  out: { kind: 'string', arg: 'FILE', help: 'Output JSON (AsmModel.toJSON)', defaultText: 'asm.json' },
  levels: { kind: 'string', arg: 'V,V,...', help: 'Variance levels to report components for', defaultText: '0.8,0.85,0.9,0.95,0.97' },
  'val-fraction': { kind: 'number', arg: 'F', help: 'Faces held out as `acr train` does (same seed: same split), excluded from the fit', defaultText: String(D.valFraction) },
  seed: { kind: 'integer', help: 'Split seed (as acr train --seed)', defaultText: String(D.seed) },
  margin: { kind: 'number', arg: 'F', help: 'Crop margin (as acr train --margin): shapes are normalised to the crop', defaultText: String(D.margin) },
  limit: { kind: 'integer', help: 'Use only the first N faces (as acr train --limit)', defaultText: '0' },
  'skip-bad': { kind: 'boolean', help: 'Skip unreadable annotation files with a warning' },
};

const SUMMARY =
  'Fit the Active Shape Model (mean, eigenvectors, eigenvalues) on the training shapes of a dataset, normalised\n' +
  'to the face crop exactly as the network targets are (u = x / size - 0.5). acr train fits its own; this command\n' +
  'is for inspection and for users of fitAsm outside the trainer.';

export const command: Command = {
  name: 'fit-asm',
  summary: 'Fit the Active Shape Model on a dataset\'s training shapes -> asm.json',
  usage: usageText('fit-asm', SUMMARY, OPTIONS, 'Example:\n  acr fit-asm --data ../shared/data/300w/train --out runs/asm.json'),
  async run(argv) {
    const v = parseOptions('fit-asm', argv, OPTIONS);
    let config;
    try {
      config = resolveTrainConfig({
        data: v.data as string,
        valFraction: (v['val-fraction'] as number | undefined) ?? D.valFraction,
        seed: (v.seed as number | undefined) ?? D.seed,
        margin: (v.margin as number | undefined) ?? D.margin,
        limit: (v.limit as number | undefined) ?? 0,
      });
    } catch (err) {
      throw err instanceof AcrError ? asFlagError(err) : err;
    }
    const levels = String(v.levels ?? '0.8,0.85,0.9,0.95,0.97').split(',').map((s) => Number(s.trim()));
    if (levels.some((x) => !(x > 0 && x <= 1))) throw new ArgumentError(`--levels: expected comma-separated variance levels in (0, 1], got '${v.levels}'`);
    const out = (v.out as string | undefined) ?? 'asm.json';

    const ds = await loadDataset(config.data, { onError: v['skip-bad'] ? 'skip' : 'throw' });
    const records = config.limit > 0 ? ds.records.slice(0, config.limit) : ds.records;
    const split = splitDataset(records, { valFraction: config.valFraction, seed: config.seed });
    if (split.train.length < 2) throw new ArgumentError(`--data: need at least 2 training faces to fit a shape model, got ${split.train.length}`);
    const shapes = cropTargets(split.train, config.inputSize, config.margin);
    const asm = fitAsm(shapes, { numLandmarks: ds.numLandmarks, varianceLevels: levels });
    writeFileAtomic(path.resolve(out), JSON.stringify(asm.toJSON()));
    console.log(`${ds.summary}`);
    console.log(`fitted on ${split.train.length} training faces (${split.val.length} held out), ${2 * ds.numLandmarks} coordinates`);
    for (const l of levels) console.log(`  variance ${l.toFixed(2)}: ${asm.numComponents(l)} components`);
    console.log(`wrote ${out}`);
    return 0;
  },
};
