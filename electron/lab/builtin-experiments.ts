/** The experiments that ship with TCP Lab, one YAML file each in resources/experiments/. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Experiment } from '../../shared/src/experiment-schema';
import { parseExperiment } from '../../shared/src/experiment-file';
import { RESOURCES_DIR } from './virtual-lab';

export const BUILTIN_EXPERIMENTS_DIR = join(RESOURCES_DIR, 'experiments');

export function loadExperimentFile(path: string): Experiment {
  const result = parseExperiment(readFileSync(path, 'utf8'), path);
  if (!result.ok) throw new ExperimentFileError(result.message);
  return result.value;
}

export class ExperimentFileError extends Error {}

export function builtinExperiments(): Experiment[] {
  return readdirSync(BUILTIN_EXPERIMENTS_DIR)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => loadExperimentFile(join(BUILTIN_EXPERIMENTS_DIR, name)));
}

/** A built-in id, or a path to an experiment file. */
export function findExperiment(idOrPath: string): Experiment {
  if (/[/\\]|\.ya?ml$|\.json$/.test(idOrPath)) return loadExperimentFile(idOrPath);
  const found = builtinExperiments().find((e) => e.id === idOrPath);
  if (!found) {
    const known = builtinExperiments().map((e) => e.id).join(', ');
    throw new ExperimentFileError(`no built-in experiment named "${idOrPath}" (known: ${known}); to run a file, give its path`);
  }
  return found;
}
