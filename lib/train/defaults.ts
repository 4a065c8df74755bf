// TEMPORARY until data/loss/asm merge
import { UnsupportedError } from '../errors';
import type { TrainDeps } from './deps';
export function defaultDeps(): TrainDeps {
  const no = (): never => {
    throw new UnsupportedError('not merged yet');
  };
  return { openData: no, loss: no, fitAsm: no, schedule: no, nme: no };
}
