/**
 * The one-line activity summaries the Temporal UI shows: the words come from each tool's own
 * declaration (activities/tools/registry.ts), the workflow frames and bounds them
 * (workflows/summaries.ts). They should read like a run log and never fail, whatever the model wrote.
 */
import { toolCallSummary as toolWords } from '../../activities/tools';
import { modelStepSummary, toolCallSummary } from '../../workflows/summaries';

/** As the Temporal UI shows it: the model step computes the words, the workflow the line. */
const line = (agent: string, tool: string, args: string) => toolCallSummary(agent, tool, toolWords(tool, args));

test('a model step names its agent', () => {
  expect(modelStepSummary('receptionist')).toBe('receptionist: model step');
});

test('a tool call reads like a log line, in the words its declaration chose', () => {
  expect(line('billing', 'process_refund', '{"order_id":"#12345","amount":99.99,"reason":"broken"}')).toBe(
    'billing: process_refund order 12345 $99.99',
  );
  expect(line('order', 'get_order_status', '{"order_id":"12345"}')).toBe('order: get_order_status order 12345');
  expect(line('tech', 'search_help_docs', '{"query":"429 too\\nmany requests"}')).toBe(
    'tech: search_help_docs "429 too many requests"',
  );
  expect(line('tech', 'create_support_ticket', '{"subject":"SDK broken","description":"the SDK is broken"}')).toBe(
    'tech: create_support_ticket "SDK broken"',
  );
});

test('whatever the model wrote, a summary is one bounded line', () => {
  expect(line('billing', 'process_refund', 'not json')).toBe('billing: process_refund');
  expect(line('billing', 'process_refund', 'null')).toBe('billing: process_refund');
  expect(line('billing', 'process_refund', '{"amount":"lots"}')).toBe('billing: process_refund');
  expect(line('billing', 'no_such_tool', '{"order_id":"1"}')).toBe('billing: no_such_tool');
  const long = toolCallSummary('tech', 'x'.repeat(500), 'q\n'.repeat(500));
  expect(long.length).toBeLessThanOrEqual(160);
  expect(long).not.toContain('\n');
});
