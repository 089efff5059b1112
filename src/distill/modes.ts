/** The teacher-output and ensemble choices, apart from the engine so the CLI can list them cheaply. */
import type { TeacherKind } from './targets.js';

export type TeacherOutputs = 'auto' | TeacherKind;
export const TEACHER_OUTPUTS: readonly TeacherOutputs[] = ['auto', 'logits', 'probs'];
export type EnsembleMode = 'mean' | 'geomean';
export const ENSEMBLE_MODES: readonly EnsembleMode[] = ['mean', 'geomean'];
/** Teacher outputs computed once over the transfer set ('cached'), or on every batch as the student sees it ('online'). */
export const TEACHER_MODES = ['cached', 'online'] as const;
export type TeacherMode = (typeof TEACHER_MODES)[number];

/** How a teacher's image input is laid out: channels first, channels last, or decided from its input shape. */
export type TeacherLayout = 'auto' | 'nchw' | 'nhwc';
export const TEACHER_LAYOUTS: readonly TeacherLayout[] = ['auto', 'nchw', 'nhwc'];

/**
 * How one teacher is fed and read: per-channel normalisation of the [0,1] pixels,
 * (x − mean[c]) / std[c] (one value: every channel), the input layout, and which output holds
 * the class scores (default: the one shaped [N, classes]).
 */
export interface TeacherPrep {
  mean?: number[];
  std?: number[];
  layout?: TeacherLayout;
  output?: string;
}
