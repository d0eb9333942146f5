/**
 * The experiments that ship with TCP Lab, one YAML file each in resources/experiments/, and the
 * user's own from a folder (`--dir`/`--experiments DIR`, or the TCPLAB_EXPERIMENTS variable).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Experiment } from '../../shared/src/experiment-schema';
import { parseExperiment } from '../../shared/src/experiment-file';
import { RESOURCES_DIR } from './virtual-lab';

export const BUILTIN_EXPERIMENTS_DIR = join(RESOURCES_DIR, 'experiments');

/** File names taken for experiments inside a folder. */
export const EXPERIMENT_FILE = /\.(ya?ml|json)$/;

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

/** The experiment files directly inside `dir` (not its subfolders), sorted by name. */
export function experimentFilesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && EXPERIMENT_FILE.test(entry.name))
    .map((entry) => join(dir, entry.name))
    .sort();
}

export interface LibraryEntry {
  experiment: Experiment;
  file: string;
  user: boolean;
}

/** The folder of user experiments: the option if given, else TCPLAB_EXPERIMENTS, else none. */
export function userExperimentsDir(option?: string): string | undefined {
  const dir = option ?? process.env.TCPLAB_EXPERIMENTS;
  return dir === undefined || dir === '' ? undefined : dir;
}

/**
 * The built-ins plus the experiments in `userDir`. Throws ExperimentFileError naming every bad
 * file (with each error's line) and every id given by two files (naming both).
 */
export function experimentLibrary(userDir?: string): LibraryEntry[] {
  const entries: LibraryEntry[] = experimentFilesIn(BUILTIN_EXPERIMENTS_DIR).map((file) => ({ experiment: loadExperimentFile(file), file, user: false }));
  if (userDir === undefined) return entries;
  let files: string[];
  try {
    if (!statSync(userDir).isDirectory()) throw new Error('not a folder');
    files = experimentFilesIn(userDir);
  } catch (error) {
    throw new ExperimentFileError(`cannot read the experiments folder ${userDir}: ${(error as Error).message}`);
  }
  const problems: string[] = [];
  for (const file of files) {
    const parsed = parseExperiment(readFileSync(file, 'utf8'), file);
    if (!parsed.ok) {
      problems.push(parsed.message);
      continue;
    }
    const clash = entries.find((e) => e.experiment.id === parsed.value.id);
    if (clash) {
      problems.push(`${file}: the id "${parsed.value.id}" is already used by ${clash.user ? 'the user experiment' : 'the built-in experiment'} ${clash.file}; give one of them another id`);
      continue;
    }
    entries.push({ experiment: parsed.value, file, user: true });
  }
  if (problems.length > 0) throw new ExperimentFileError(problems.join('\n'));
  return entries;
}

/** A built-in id, a user experiment's id (from `userDir`), or a path to an experiment file. */
export function findExperiment(idOrPath: string, userDir?: string): Experiment {
  if (/[/\\]|\.ya?ml$|\.json$/.test(idOrPath)) return loadExperimentFile(idOrPath);
  const library = experimentLibrary(userDir);
  const found = library.find((e) => e.experiment.id === idOrPath);
  if (!found) {
    const known = library.map((e) => e.experiment.id).join(', ');
    const where = userDir === undefined ? 'no built-in experiment' : `no built-in experiment or experiment in ${userDir}`;
    throw new ExperimentFileError(`${where} named "${idOrPath}" (known: ${known}); to run a file, give its path`);
  }
  return found.experiment;
}
