/**
 * The JSON Schema of experiment files, generated from the zod schema in experiment-schema.ts (so
 * it cannot drift from what `tcplab validate` accepts). `tcplab schema` prints it;
 * resources/experiment.schema.json is the published copy, and a unit test fails when that copy
 * differs from what this module generates (regenerate it with
 * `npx tcplab schema > resources/experiment.schema.json`).
 *
 * How editors use it: with the YAML language server (VS Code's Red Hat YAML extension, Neovim,
 * Helix, Zed...), put this modeline on the first line of an experiment file, with the path
 * relative to that file or a URL:
 *
 *     # yaml-language-server: $schema=../resources/experiment.schema.json
 *
 * or map a glob to it once, in VS Code's settings.json:
 *
 *     "yaml.schemas": { "./resources/experiment.schema.json": "experiments/*.yaml" }
 *
 * The editor then completes keys and enum values, and flags unknown keys
 * and wrong types as you type. It checks structure only: cross-field rules (a firewall rule must
 * match a port, sysctl ranges, placeholders) are checked by `tcplab validate`, with the line of
 * every error.
 */
import { z } from 'zod';
import { Experiment } from './experiment-schema';

export function experimentJsonSchema(): Record<string, unknown> {
  // io: 'input' describes what a file may contain (defaults make keys optional); transforms and
  // refinements have no JSON Schema form and are left to `tcplab validate`.
  const generated = z.toJSONSchema(Experiment, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'TCP Lab experiment',
    description:
      'An experiment file for TCP Lab (docs/experiment-format.md). Generated from shared/src/experiment-schema.ts by `tcplab schema`; structure only: run `tcplab validate FILE` for the full check.',
    ...rest,
  };
}

/** The published text: two-space JSON with a final newline. */
export function experimentJsonSchemaText(): string {
  return `${JSON.stringify(experimentJsonSchema(), null, 2)}\n`;
}
