/**
 * The benchmark's floor: what Temporal itself costs for the activities of a desk turn, with none of
 * the desk's code. A turn is one update that runs, one after another, the model steps and tool
 * calls the desk's turn runs, each as an ordinary or a local activity as the desk's execution mode
 * places it, with the desk's activity options; every activity does nothing. The desk's turn minus
 * this one, minus the in-process loop's turn (the model calls and tools themselves), is what the
 * desk's own workflow code, activity wrappers and client add (bench/measure.ts `floorSection`).
 */
import {
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';

import { LOCAL_MODEL_STEP, LOCAL_TOOL_CALL, MODEL_STEP, TOOL_CALL } from '../../workflows/options';

export type FloorKind = 'model' | 'tool';

export interface FloorStep {
  kind: FloorKind;
  local: boolean;
}

export interface FloorActivities {
  floorStep(kind: FloorKind): Promise<FloorKind>;
}

export const floorTurnUpdate = defineUpdate<number, [FloorStep[]]>('floorTurn');
export const floorEndSignal = defineSignal('floorEnd');
export const floorReadyQuery = defineQuery<boolean>('floorReady');

/** More than any seed scenario runs (9 activities); the bench sends nothing else. */
const MAX_STEPS = 32;

const STEPS: Record<FloorKind, Record<'local' | 'activity', FloorActivities['floorStep']>> = {
  model: {
    local: proxyLocalActivities<FloorActivities>(LOCAL_MODEL_STEP).floorStep,
    activity: proxyActivities<FloorActivities>(MODEL_STEP).floorStep,
  },
  tool: {
    local: proxyLocalActivities<FloorActivities>(LOCAL_TOOL_CALL).floorStep,
    activity: proxyActivities<FloorActivities>(TOOL_CALL).floorStep,
  },
};

function validSteps(steps: unknown): steps is FloorStep[] {
  return (
    Array.isArray(steps) &&
    steps.length <= MAX_STEPS &&
    steps.every(
      (s: Partial<FloorStep> | null) =>
        s !== null &&
        typeof s === 'object' &&
        (s.kind === 'model' || s.kind === 'tool') &&
        typeof s.local === 'boolean',
    )
  );
}

export async function floorConversation(): Promise<void> {
  let ended = false;
  setHandler(
    floorTurnUpdate,
    async (steps) => {
      for (const step of steps) await STEPS[step.kind][step.local ? 'local' : 'activity'](step.kind);
      return steps.length;
    },
    {
      validator: (steps) => {
        if (!validSteps(steps)) throw new Error(`a floor turn is at most ${MAX_STEPS} {kind, local} steps`);
      },
    },
  );
  setHandler(floorReadyQuery, () => true);
  setHandler(floorEndSignal, () => void (ended = true));
  await condition(() => ended);
}
