/** The teacher-output and ensemble choices, apart from the engine so the CLI can list them cheaply. */
import type { TeacherKind } from './targets.js';

export type TeacherOutputs = 'auto' | TeacherKind;
export const TEACHER_OUTPUTS: readonly TeacherOutputs[] = ['auto', 'logits', 'probs'];
export type EnsembleMode = 'mean' | 'geomean';
export const ENSEMBLE_MODES: readonly EnsembleMode[] = ['mean', 'geomean'];
