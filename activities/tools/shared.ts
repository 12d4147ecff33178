/**
 * Pieces several tools share: the order-number parameter, money conversion and the one refusal
 * every order tool must word identically, so another customer's order cannot be told apart from
 * a missing one.
 */
import { oneLine } from '../../contract/limits';
import type { Order } from '../store';
import { refuse, type ToolOutcome } from './define';

// Declared in contract/ because the workflow reads process_refund's arguments too.
export { dollarsToCents, formatCents, orderIdParam } from '../../contract/refunds';

/** Cents to the dollars the model sees: a number with at most two decimals. */
export function toDollars(cents: number): number {
  return Math.round(cents) / 100;
}

export function orderNotFound(orderId: string): ToolOutcome {
  return refuse('not_found', `Order ${orderId} was not found for this customer`);
}

/** The item lines as the model sees them. */
export function itemsView(order: Order): Array<Record<string, unknown>> {
  return order.items.map((i) => ({
    name: i.name,
    sku: i.sku,
    quantity: i.quantity,
    unit_price: toDollars(i.unitPriceCents),
  }));
}

/** Text for a one-line summary: quoted, on one line, at most 40 characters. */
export function quoted(text: string): string {
  return `"${oneLine(text, 40)}"`;
}
