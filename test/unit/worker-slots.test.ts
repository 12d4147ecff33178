/**
 * DESK_WORKFLOW_TASK_SLOTS (worker/slots.ts): how many workflow tasks one worker runs at once. A bad
 * value stops the worker before it starts, with a line that says what is accepted.
 */
import { DEFAULT_WORKFLOW_TASK_SLOTS, workflowTaskSlotsFromEnv } from '../../worker/slots';

describe('DESK_WORKFLOW_TASK_SLOTS', () => {
  test('unset or blank: the default, 4', () => {
    expect(DEFAULT_WORKFLOW_TASK_SLOTS).toBe(4);
    expect(workflowTaskSlotsFromEnv({})).toBe(4);
    expect(workflowTaskSlotsFromEnv({ DESK_WORKFLOW_TASK_SLOTS: ' ' })).toBe(4);
  });

  test('a whole number from 2 to 40 is taken as it is', () => {
    expect(workflowTaskSlotsFromEnv({ DESK_WORKFLOW_TASK_SLOTS: '2' })).toBe(2);
    expect(workflowTaskSlotsFromEnv({ DESK_WORKFLOW_TASK_SLOTS: '40' })).toBe(40);
  });

  test.each(['1', '41', '3.5', 'many', '-4'])('%s is refused with what is accepted', (raw) => {
    expect(() => workflowTaskSlotsFromEnv({ DESK_WORKFLOW_TASK_SLOTS: raw })).toThrow(
      `DESK_WORKFLOW_TASK_SLOTS=${JSON.stringify(raw)} must be a whole number from 2 to 40`,
    );
  });
});
