/** Reads an experiment file (YAML or JSON) into a validated Experiment, or every error with its line. */
import { Experiment } from './experiment-schema';
import { formatFileErrors, loadYamlDocument, type FileError } from './yaml-load';

const PLACEHOLDER = /\{([^{}]*)\}/g;
const KNOWN_PLACEHOLDERS = new Set(['port', 'sudo', 'client.address', 'server.address', 'H1.address', 'H2.address']);

export type ParsedExperiment = { ok: true; value: Experiment } | { ok: false; errors: FileError[]; message: string };

export function parseExperiment(text: string, fileName: string): ParsedExperiment {
  const loaded = loadYamlDocument(text, Experiment, fileName);
  if (!loaded.ok) return { ok: false, errors: loaded.errors, message: formatFileErrors(loaded.errors) };
  const experiment = loaded.value;
  const errors: FileError[] = [];
  experiment.steps.forEach((step, index) => {
    const texts = 'run' in step ? [step.run] : 'type' in step ? [step.type] : [];
    for (const value of texts) {
      for (const match of value.matchAll(PLACEHOLDER)) {
        if (!KNOWN_PLACEHOLDERS.has(match[1] ?? '')) {
          errors.push({
            file: fileName,
            line: lineOfStep(text, index),
            column: 1,
            path: `steps.${index}`,
            message: `unknown placeholder {${match[1]}}; known: ${[...KNOWN_PLACEHOLDERS].map((p) => `{${p}}`).join(', ')}`,
          });
        }
      }
    }
  });
  if (errors.length > 0) return { ok: false, errors, message: formatFileErrors(errors) };
  return { ok: true, value: experiment };
}

/** Best-effort line of the n-th step (1-based), for errors found after schema validation. */
function lineOfStep(text: string, index: number): number {
  const lines = text.split('\n');
  const stepsAt = lines.findIndex((l) => /^steps\s*:/.test(l));
  let seen = -1;
  for (let i = stepsAt + 1; i < lines.length; i++) {
    if (/^\s*-\s/.test(lines[i] ?? '') && /^(\s*)-/.exec(lines[i] ?? '')?.[1]?.length === /^(\s*)-/.exec(lines[stepsAt + 1] ?? '')?.[1]?.length) {
      seen++;
      if (seen === index) return i + 1;
    }
  }
  return stepsAt + 1;
}
