/**
 * Order tools: status (shared with billing), tracking, cancellation and shipping-address changes.
 * Cancelling and changing the address are allowed only while an order is pending; the check and
 * the write happen in the runner's write transaction (order row locked on PostgreSQL), and the store's conditional UPDATE
 * repeats the check in SQL.
 */
import { z } from 'zod';

import type { Order } from '../store';
import { defineTool, ok, refuse } from './define';
import { itemsView, orderIdParam, orderNotFound, toDollars } from './shared';

export const getOrderStatus = defineTool({
  name: 'get_order_status',
  description:
    "Look up one of the customer's orders: status, items, total paid, amount already refunded and still refundable, shipping address and tracking.",
  parameters: z.object({ order_id: orderIdParam }),
  mutating: false,
  summary: (args) => `order ${args.order_id}`,
  async execute(args, ctx) {
    const order = await ctx.store.findCustomerOrder(ctx.customerId, args.order_id);
    if (!order) return orderNotFound(args.order_id);
    const refundedCents = await ctx.store.refundedCents(order.id);
    return ok({
      order_id: order.id,
      status: order.status,
      placed_at: order.createdAt,
      items: itemsView(order),
      currency: 'USD',
      total: toDollars(order.totalCents),
      refunded: toDollars(refundedCents),
      refundable: toDollars(order.totalCents - refundedCents),
      shipping_address: order.shippingAddress,
      carrier: order.carrier,
      tracking_number: order.trackingNumber,
    });
  },
});

export const trackShipment = defineTool({
  name: 'track_shipment',
  description: "Track the shipment of one of the customer's orders: carrier, tracking number and where it is.",
  parameters: z.object({ order_id: orderIdParam }),
  mutating: false,
  summary: (args) => `order ${args.order_id}`,
  async execute(args, ctx) {
    const order = await ctx.store.findCustomerOrder(ctx.customerId, args.order_id);
    if (!order) return orderNotFound(args.order_id);
    // Not shipped is an answer, not a refusal: the model should tell the customer so.
    const shipped = order.status === 'shipped' || order.status === 'delivered';
    return ok({
      order_id: order.id,
      status: order.status,
      shipped,
      carrier: order.carrier,
      tracking_number: order.trackingNumber,
      note: trackingNote(order),
    });
  },
});

function trackingNote(order: Order): string {
  switch (order.status) {
    case 'pending':
      return `Order ${order.id} has not shipped yet; a tracking number appears once it ships.`;
    case 'shipped':
      return `Order ${order.id} is in transit with ${order.carrier ?? 'the carrier'}, tracking number ${order.trackingNumber ?? 'not yet assigned'}.`;
    case 'delivered':
      return `Order ${order.id} was delivered by ${order.carrier ?? 'the carrier'}.`;
    case 'cancelled':
      return `Order ${order.id} was cancelled and will not ship.`;
  }
}

export const cancelOrder = defineTool({
  name: 'cancel_order',
  description:
    "Cancel one of the customer's orders. Only pending orders (not yet shipped) can be cancelled. Cancelling does not refund: billing does that.",
  parameters: z.object({
    order_id: orderIdParam,
    reason: z.string().trim().max(500).optional().describe("The customer's reason for cancelling, if given."),
  }),
  mutating: true,
  summary: (args) => `order ${args.order_id}`,
  async execute(args, ctx) {
    const order = await ctx.store.findCustomerOrder(ctx.customerId, args.order_id);
    if (!order) return orderNotFound(args.order_id);
    if (order.status === 'cancelled') return refuse('invalid_state', `Order ${order.id} is already cancelled.`);
    if (order.status !== 'pending') {
      return refuse(
        'invalid_state',
        `Order ${order.id} is ${order.status} and can no longer be cancelled; only pending orders can be cancelled.`,
      );
    }
    const cancellation = await ctx.store.cancelPendingOrder({
      orderId: order.id,
      reason: args.reason ?? null,
      idempotencyKey: ctx.idempotencyKey,
      createdAt: ctx.now.toISOString(),
    });
    if (!cancellation)
      return refuse('invalid_state', `Order ${order.id} is no longer pending and cannot be cancelled.`);
    const refundedCents = await ctx.store.refundedCents(order.id);
    return ok({
      order_id: order.id,
      status: 'cancelled',
      cancelled_at: cancellation.createdAt,
      refundable: toDollars(order.totalCents - refundedCents),
      note: 'The order is cancelled. No money has been refunded yet: a refund is done by billing.',
    });
  },
});

export const updateShippingAddress = defineTool({
  name: 'update_shipping_address',
  description:
    "Change the shipping address of one of the customer's orders. Only possible while the order is pending (not yet shipped).",
  parameters: z.object({
    order_id: orderIdParam,
    address: z
      .string()
      .trim()
      .min(10, 'give the full address: street, city, postal code and country')
      .max(300)
      .describe('The full new shipping address: street, city, postal code and country.'),
  }),
  mutating: true,
  summary: (args) => `order ${args.order_id}`,
  async execute(args, ctx) {
    const order = await ctx.store.findCustomerOrder(ctx.customerId, args.order_id);
    if (!order) return orderNotFound(args.order_id);
    if (order.status !== 'pending') {
      const why =
        order.status === 'cancelled'
          ? 'is cancelled'
          : `has already ${order.status === 'shipped' ? 'shipped' : 'been delivered'}`;
      return refuse(
        'invalid_state',
        `Order ${order.id} ${why}; the shipping address can only be changed before it ships.`,
      );
    }
    const change = await ctx.store.changePendingOrderAddress({
      orderId: order.id,
      newAddress: args.address,
      idempotencyKey: ctx.idempotencyKey,
      createdAt: ctx.now.toISOString(),
    });
    if (!change) return refuse('invalid_state', `Order ${order.id} is no longer pending; the address was not changed.`);
    return ok({
      order_id: order.id,
      status: order.status,
      old_address: change.oldAddress,
      new_address: change.newAddress,
      changed_at: change.createdAt,
    });
  },
});
