/**
 * The `process_refund` arguments, declared once where both sides may import them: the tool
 * (activities/tools/billing.ts) validates a call with them, and the workflow reads the amount
 * from the same validated arguments to decide whether the refund needs a person's approval.
 */
import { z } from 'zod';

/** An order number as a customer writes it: `12345` or `#12345`. zod strips the `#`. */
export const orderIdParam = z
  .string()
  .trim()
  .regex(/^#?\d{1,12}$/, 'expected an order number such as 12345')
  .transform((s) => s.replace(/^#/, ''))
  .describe('The order number, e.g. 12345 (a leading # is accepted).');

export const refundParameters = z.object({
  order_id: orderIdParam,
  amount: z
    .number()
    .positive()
    .multipleOf(0.01)
    .describe('The amount to refund in dollars, e.g. 99.99. Greater than 0, at most two decimals.'),
  reason: z.string().trim().min(3).max(500).describe('Why the customer is refunded, in a few words.'),
});

export type RefundArguments = z.output<typeof refundParameters>;

/** Dollars (at most two decimals, as the schema allows) to integer cents. */
export function dollarsToCents(dollars: number): number {
  return Math.round(dollars * 100);
}

/** Cents as text for messages and log lines: `$99.99`. */
export function formatCents(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}
