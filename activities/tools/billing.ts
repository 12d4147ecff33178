/**
 * Billing tools: refunds and invoices (order status is declared once, in order.ts). Where money
 * moves: a refund is checked against what was paid minus what was already refunded inside the
 * runner's write transaction (with the order row locked on PostgreSQL), and the store's conditional INSERT checks it again in SQL, so
 * no sequence of calls, retries or concurrent workers can refund more than was paid. A refund above
 * the approval limit is made only with the approval that allows it (the workflow's `decideApproval`).
 */
import { z } from 'zod';

import { refundParameters } from '../../contract/refunds';
import { defineTool, ok, refuse } from './define';
import { dollarsToCents, formatCents, orderIdParam, orderNotFound, toDollars } from './shared';

export const processRefund = defineTool({
  name: 'process_refund',
  description:
    "Refund money for one of the customer's orders, in dollars. At most the amount paid minus what was already refunded; check get_order_status first.",
  parameters: refundParameters,
  mutating: true,
  summary: (args) => `order ${args.order_id} $${args.amount.toFixed(2)}`,
  async execute(args, ctx) {
    const order = await ctx.store.findCustomerOrder(ctx.customerId, args.order_id);
    if (!order) return orderNotFound(args.order_id);
    const refundedCents = await ctx.store.refundedCents(order.id);
    const remainingCents = order.totalCents - refundedCents;
    if (remainingCents <= 0) {
      return refuse(
        'invalid_state',
        `Order ${order.id} is already refunded in full (${formatCents(order.totalCents)}); nothing is left to refund.`,
      );
    }
    const amountCents = dollarsToCents(args.amount);
    const overLimit = refuse(
      'over_limit',
      `A refund of ${formatCents(amountCents)} exceeds what can be refunded for order ${order.id}: ` +
        `at most ${formatCents(remainingCents)} (paid ${formatCents(order.totalCents)}, already refunded ${formatCents(refundedCents)}).`,
    );
    if (amountCents > remainingCents) return overLimit;
    // The approval limit, checked again with the worker's own setting, after the shop's rules (an
    // impossible refund is refused as such): whatever policy a conversation was started with, no
    // refund above it is made without the approval that allows it.
    if (amountCents > ctx.refundApprovalLimitCents && ctx.approvalId === undefined) {
      return refuse(
        'approval_required',
        `A refund of ${formatCents(amountCents)} is above ${formatCents(ctx.refundApprovalLimitCents)} and needs a supervisor's approval; it was not made.`,
      );
    }
    const refund = await ctx.store.insertRefund({
      orderId: order.id,
      amountCents,
      reason: args.reason,
      idempotencyKey: ctx.idempotencyKey,
      createdAt: ctx.now.toISOString(),
    });
    // Unreachable while the check above runs in the same transaction; the SQL guard is the backstop.
    if (!refund) return overLimit;
    const refundedAfter = refundedCents + amountCents;
    return ok({
      refund_id: refund.id,
      order_id: order.id,
      currency: 'USD',
      amount: toDollars(amountCents),
      reason: refund.reason,
      order_total: toDollars(order.totalCents),
      refunded_total: toDollars(refundedAfter),
      refundable_remaining: toDollars(order.totalCents - refundedAfter),
      refunded_at: refund.createdAt,
    });
  },
});

export const getInvoice = defineTool({
  name: 'get_invoice',
  description: "Get the invoice of one of the customer's orders: billed-to, line items, total paid and any refunds.",
  parameters: z.object({ order_id: orderIdParam }),
  mutating: false,
  summary: (args) => `order ${args.order_id}`,
  async execute(args, ctx) {
    const order = await ctx.store.findCustomerOrder(ctx.customerId, args.order_id);
    if (!order) return orderNotFound(args.order_id);
    const customer = await ctx.store.getCustomer(ctx.customerId);
    const refunds = await ctx.store.listRefunds(order.id);
    const refundedCents = refunds.reduce((sum, r) => sum + r.amountCents, 0);
    return ok({
      invoice_number: `INV-${order.id}`,
      order_id: order.id,
      issued_at: order.createdAt,
      order_status: order.status,
      billed_to: {
        name: customer?.name ?? ctx.customerId,
        email: customer?.email ?? null,
        address: order.shippingAddress,
      },
      currency: 'USD',
      lines: order.items.map((i) => ({
        name: i.name,
        sku: i.sku,
        quantity: i.quantity,
        unit_price: toDollars(i.unitPriceCents),
        amount: toDollars(i.quantity * i.unitPriceCents),
      })),
      total: toDollars(order.totalCents),
      refunds: refunds.map((r) => ({
        refund_id: r.id,
        amount: toDollars(r.amountCents),
        reason: r.reason,
        refunded_at: r.createdAt,
      })),
      refunded: toDollars(refundedCents),
      net_paid: toDollars(order.totalCents - refundedCents),
    });
  },
});
