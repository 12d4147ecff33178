/**
 * A strict scripted model for workflow tests: each expected model step names the agent that must
 * be asking and what it answers. Any call beyond the script, or from the wrong agent, fails the
 * step and is reported by `assertDone()`, so a test cannot pass by accident.
 */
import { ApplicationFailure } from '@temporalio/common';
import { toolCallSummary } from '../../activities/tools';
import type { AgentName } from '../../agents';
import type { ModelStepInput, ModelStepResult } from '../../contract/transcript';

export interface ScriptStep {
  agent: AgentName;
  /** Assertions on what the model was given; a throw here is recorded as a script error. */
  check?: (input: ModelStepInput) => void;
  /** The answer, or a function producing it (it may wait, or throw a failure). */
  respond: ModelStepResult | ((input: ModelStepInput) => Promise<ModelStepResult>);
}

export function reply(text: string): ModelStepResult {
  return { kind: 'reply', text };
}

export function toolCalls(...calls: Array<[name: string, args: Record<string, unknown> | string]>): ModelStepResult {
  return {
    kind: 'tool_calls',
    text: null,
    // Every response reuses `call_0`-style ids, as some OpenAI-compatible servers do; and, like the
    // real model step, each known tool's call carries its UI summary.
    calls: calls.map(([name, args], i) => {
      const json = typeof args === 'string' ? args : JSON.stringify(args);
      const summary = toolCallSummary(name, json);
      return { id: `call_${i}`, name, arguments: json, ...(summary !== undefined && { summary }) };
    }),
  };
}

export function transfer(to: string, reason: string): ModelStepResult {
  return toolCalls([`transfer_to_${to}`, { reason }]);
}

export function scriptedModel(script: ScriptStep[]) {
  let next = 0;
  const inputs: ModelStepInput[] = [];
  const errors: string[] = [];
  const reached: Array<() => void> = [];
  const reachedPromises = script.map((_, i) => new Promise<void>((resolve) => (reached[i] = resolve)));

  async function callModel(input: ModelStepInput): Promise<ModelStepResult> {
    const index = next++;
    inputs.push(input);
    const step = script[index];
    if (!step) {
      errors.push(`unexpected model step #${index + 1} for ${input.agent}`);
      throw ApplicationFailure.nonRetryable(
        `scripted model: unexpected step #${index + 1}`,
        'Test.UnexpectedModelCall',
      );
    }
    reached[index]?.();
    if (step.agent !== input.agent) {
      errors.push(`step #${index + 1}: expected ${step.agent}, got ${input.agent}`);
      throw ApplicationFailure.nonRetryable(
        `scripted model: wrong agent at step #${index + 1}`,
        'Test.UnexpectedModelCall',
      );
    }
    try {
      step.check?.(input);
    } catch (err) {
      errors.push(`step #${index + 1} (${input.agent}): ${(err as Error).message}`);
    }
    return typeof step.respond === 'function' ? step.respond(input) : step.respond;
  }

  return {
    callModel,
    inputs,
    /** Resolves when the script's step `index` (0-based) has been called. */
    reached: (index: number) => reachedPromises[index]!,
    assertDone(): void {
      if (errors.length) throw new Error(`scripted model: ${errors.join('; ')}`);
      if (next !== script.length)
        throw new Error(`scripted model: ${script.length - next} scripted step(s) never called`);
    },
  };
}

/** A promise with its resolve function outside: lets a test hold an activity in flight. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
