/**
 * Config files (`--config run.json`) and the effective config of a run.
 *
 * A config file is a JSON object whose keys are the command's long flag names without the
 * dashes (`"weight-decay": 0.0001`, `"nesterov": true`, `"groups": [3, 4]`), plus an optional
 * `"command"` naming the command it is for. Each command's JSON Schema (draft-07) is generated
 * from its flags — types, ranges and choices come from the flag parsers in parse.ts — and
 * checked with ajv: unknown keys and wrong types are errors naming the key (exit code 2).
 * `dk <command> --config-schema` prints the schema.
 *
 * Precedence: flags given on the command line > the config file > defaults. Values from the file
 * go through the same parsers as the flags (so the same checks apply) and are recorded with
 * commander's value source 'config'.
 *
 * The effective config (every flag's final value, in the same format, so it can be fed back
 * with --config) is saved next to the output after a successful run as `<out>.config.json`,
 * and stored in every checkpoint, where `--resume` compares it with the current one.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { type Command, CommanderError, type Option } from 'commander';
import { writeFileAtomic } from '../util/atomic.js';
import { UsageError } from '../util/errors.js';
import { redactUrl } from '../util/url.js';

/** Keys that do not change what a run computes: not compared when resuming. */
export const OPERATIONAL_KEYS: readonly string[] = ['out', 'force', 'threads', 'replicas', 'workers', 'checkpoint-dir', 'checkpoint-every', 'resume', 'json', 'config', 'redis'];
/** Keys whose values may hold a password: saved (in configs and checkpoints) with it replaced by '***'. */
const SECRET_URL_KEYS = new Set(['redis']);
/** Flags that are about the invocation itself, never part of a config. */
const META_KEYS = new Set(['config', 'config-schema', 'help', 'version']);

function keyOf(o: Option): string | null {
  const long = o.long?.replace(/^--/, '');
  return long && !META_KEYS.has(long) ? long : null;
}

function isBooleanFlag(o: Option): boolean {
  return !o.required && !o.optional;
}

/** The JSON Schema of one flag's value. */
export function optionSchema(o: Option): Record<string, unknown> {
  const description = o.description || undefined;
  if (isBooleanFlag(o)) return { type: 'boolean', description };
  if (o.argChoices) return { type: 'string', enum: [...o.argChoices], description };
  const s = (o.parseArg as { schema?: Record<string, unknown> } | undefined)?.schema;
  if (s) return { ...s, description };
  if (o.parseArg) return { type: ['string', 'number', 'boolean'], description };
  return { type: 'string', description };
}

/** The JSON Schema of `cmd`'s config files. */
export function configSchema(cmd: Command): Record<string, unknown> {
  const properties: Record<string, unknown> = { command: { const: cmd.name(), description: 'the command this config is for (optional)' } };
  for (const o of cmd.options) {
    const k = keyOf(o);
    if (k) properties[k] = optionSchema(o);
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: `dk ${cmd.name()} --config`,
    type: 'object',
    additionalProperties: false,
    properties,
  };
}

const compiled = new WeakMap<Command, ValidateFunction>();
function validator(cmd: Command): ValidateFunction {
  let v = compiled.get(cmd);
  if (!v) {
    v = new Ajv({ allErrors: false, strict: true, strictTypes: false }).compile(configSchema(cmd));
    compiled.set(cmd, v);
  }
  return v;
}

function camelToKebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** One line for the first schema error: which key, what was expected. */
function describeError(e: ErrorObject, cmd: Command): string {
  const key = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const at = key ? `key '${key}'` : 'the file';
  switch (e.keyword) {
    case 'additionalProperties': {
      const k = (e.params as { additionalProperty: string }).additionalProperty;
      const valid = Object.keys((configSchema(cmd).properties as object) ?? {});
      const kebab = camelToKebab(k);
      const hint = kebab !== k && valid.includes(kebab) ? ` (did you mean '${kebab}'?)` : '';
      return `unknown key '${k}'${hint}; valid keys: ${valid.join(', ')}`;
    }
    case 'type':
      return `${at} must be ${key ? 'a value of type ' : 'a JSON '}${(e.params as { type: string | string[] }).type.toString().replace(',', ' or ')}${key ? '' : ' object'}`;
    case 'enum':
      return `${at} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${at} must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)} (this file is for another command)`;
    default:
      return `${at} ${e.message ?? 'is invalid'}`;
  }
}

/**
 * Read `path`, validate it against `cmd`'s schema and set every value not already given on the
 * command line (source 'config'). UsageError naming the file and key on any problem.
 */
export function applyConfigFile(cmd: Command, path: string): void {
  const where = `--config ${path}`;
  if (/\.ya?ml$/i.test(path)) throw new UsageError(`${where}: YAML is not supported; write the config as JSON`);
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new UsageError(`${where}: is a directory, expected a JSON file`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${where}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${where}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const validate = validator(cmd);
  if (!validate(value)) throw new UsageError(`${where}: ${describeError(validate.errors![0], cmd)}`);
  const obj = value as Record<string, unknown>;
  for (const o of cmd.options) {
    const k = keyOf(o);
    if (!k || !(k in obj)) continue;
    const attr = o.attributeName();
    if (cmd.getOptionValueSource(attr) === 'cli') continue; // the command line wins
    const v = obj[k];
    let parsed: unknown = v;
    if (!isBooleanFlag(o) && o.parseArg) {
      const raw = Array.isArray(v) ? v.join(',') : String(v);
      try {
        parsed = o.parseArg(raw, undefined as never);
      } catch (e) {
        const msg = (e as Error).message.replace(/^--[\w-]+:\s*/, '');
        throw new UsageError(`${where}: key '${k}': ${msg}`);
      }
    } else if (!isBooleanFlag(o)) parsed = String(v);
    if (o.negate) parsed = !parsed;
    cmd.setOptionValueWithSource(attr, parsed, 'config');
  }
}

/**
 * Add `--config <file.json>` (and `--config-schema`) to `cmd`. The file is applied when the
 * flag is parsed: flags before it on the command line are kept, flags after it override it.
 */
export function addConfigFlag(cmd: Command): Command {
  cmd.option('--config <file.json>', 'read flags from a JSON file (keys: flag names, e.g. {"lr": 0.1, "weight-decay": 0}); command-line flags override it', (path: string) => {
    applyConfigFile(cmd, path);
    return path;
  });
  cmd.option('--config-schema', 'print the JSON Schema of --config files for this command and exit');
  cmd.on('option:config-schema', () => {
    process.stdout.write(JSON.stringify(configSchema(cmd), null, 2) + '\n');
    throw new CommanderError(0, 'dk.configSchema', '');
  });
  return cmd;
}

/** Every flag's value (keys as in config files), starting with the command's name. */
export function effectiveConfig(cmd: Command): Record<string, unknown> {
  const out: Record<string, unknown> = { command: cmd.name() };
  for (const o of cmd.options) {
    const k = keyOf(o);
    if (!k) continue;
    const v = cmd.getOptionValue(o.attributeName());
    if (v !== undefined) out[k] = o.negate ? !v : SECRET_URL_KEYS.has(k) && typeof v === 'string' ? redactUrl(v) : v;
  }
  return out;
}

/** The part of an effective config that decides what a run computes (compared on resume). */
export function runConfig(eff: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(eff)) if (!OPERATIONAL_KEYS.includes(k)) out[k] = v;
  return out;
}

/** Where the effective config of a run writing `out` is saved. */
export function configPathFor(out: string): string {
  return resolve(out) + '.config.json';
}

/** Save `cmd`'s effective config next to its `--out` (no-op for commands without one). */
export function saveEffectiveConfig(cmd: Command): string | null {
  const out = cmd.getOptionValue('out');
  if (typeof out !== 'string' || out === '') return null;
  const p = configPathFor(out);
  writeFileAtomic(p, JSON.stringify(effectiveConfig(cmd), null, 2) + '\n');
  return p;
}

/** Effective configs computed before an action runs, keyed by the action's options object. */
const RUN_CONFIGS = new WeakMap<object, Record<string, unknown>>();

/**
 * Install the hooks every training command shares: before the action, remember the effective
 * config (for checkpoints); after it succeeds, save it next to the output.
 */
export function installConfigHooks(cmd: Command): Command {
  cmd.hook('preAction', (c) => {
    RUN_CONFIGS.set(c.opts(), effectiveConfig(c));
  });
  cmd.hook('postAction', (c) => {
    saveEffectiveConfig(c);
  });
  return cmd;
}

/** The effective config remembered for an action's options object (undefined outside the CLI). */
export function effectiveConfigOf(flags: object): Record<string, unknown> | undefined {
  return RUN_CONFIGS.get(flags);
}
