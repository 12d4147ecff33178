/**
 * The one-line activity summaries the Temporal UI shows: they should read like a run log and
 * never fail a workflow task, whatever the model wrote.
 */
import { modelStepSummary, toolCallSummary } from '../../workflows/summaries';

test('a model step names its agent', () => {
  expect(modelStepSummary('receptionist')).toBe('receptionist: model step');
});

test('a tool call reads like a log line', () => {
  expect(toolCallSummary('billing', 'process_refund', '{"order_id":"#12345","amount":99.99,"reason":"broken"}')).toBe('billing: process_refund order 12345 $99.99');
  expect(toolCallSummary('order', 'get_order_status', '{"order_id":"12345"}')).toBe('order: get_order_status order 12345');
  expect(toolCallSummary('tech', 'search_help_docs', '{"query":"429 too\\nmany requests"}')).toBe('tech: search_help_docs "429 too many requests"');
  expect(toolCallSummary('tech', 'create_support_ticket', '{"subject":"SDK broken","description":"x"}')).toBe('tech: create_support_ticket "SDK broken"');
});

test('whatever the model wrote, a summary is one bounded line', () => {
  expect(toolCallSummary('billing', 'process_refund', 'not json')).toBe('billing: process_refund');
  expect(toolCallSummary('billing', 'process_refund', 'null')).toBe('billing: process_refund');
  expect(toolCallSummary('billing', 'process_refund', '{"amount":"lots"}')).toBe('billing: process_refund');
  const long = toolCallSummary('tech', 'x'.repeat(500), JSON.stringify({ query: 'q\n'.repeat(500) }));
  expect(long.length).toBeLessThanOrEqual(160);
  expect(long).not.toContain('\n');
});
